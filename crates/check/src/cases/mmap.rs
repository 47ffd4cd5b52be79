cases! { "mmap"; }
