cases! { "fallocate"; }
