//! The transport a session is asked to use ([`Transport`]): the public choice, resolved at
//! start (`session::start`).

/// How a session talks to the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// FUSE over io_uring when the kernel offers it (INIT's FUSE_OVER_IO_URING), otherwise
    /// /dev/fuse. Which one follows the fuse module parameter `enable_uring` at the moment the
    /// session starts ([`BackgroundSession::transport_in_use`] tells). Falling back because
    /// the kernel does not offer io_uring is normal and said once at debug level; falling
    /// back although the parameter is on (a ring or its registration failed) is a warning.
    ///
    /// [`BackgroundSession::transport_in_use`]: crate::BackgroundSession::transport_in_use
    #[default]
    Auto,
    /// /dev/fuse only: worker threads read and writev on cloned descriptors.
    Dev,
    /// FUSE over io_uring or nothing: the session fails to start (and unmounts) when the
    /// kernel does not offer it or the queues cannot be registered.
    Uring,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Auto => "auto",
            Transport::Dev => "/dev/fuse",
            Transport::Uring => "io_uring",
        })
    }
}
