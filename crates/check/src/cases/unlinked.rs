cases! { "unlinked"; }
