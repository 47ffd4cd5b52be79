cases! { "readdir"; }
