//! fusekit
