cases! { "xattr"; }
