cases! { "lock"; }
