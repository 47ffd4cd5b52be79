cases! { "sparse"; }
