cases! { "race"; }
