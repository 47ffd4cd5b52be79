cases! { "tmpfile"; }
