cases! { "symlink"; }
