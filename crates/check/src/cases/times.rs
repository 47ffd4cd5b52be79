cases! { "times"; }
