cases! { "node"; }
