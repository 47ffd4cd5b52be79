cases! { "statx"; }
