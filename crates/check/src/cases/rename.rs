cases! { "rename"; }
