cases! { "copy"; }
