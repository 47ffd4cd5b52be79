//! fusekit-abi
