//! With the fuse module's `enable_uring` off: `Transport::Uring` refuses to start with a
//! message naming the cause (and leaves no mount), `Transport::Auto` serves over /dev/fuse and
//! says why exactly once, at debug level: a default mount where the kernel does not offer
//! io_uring is normal and logs nothing at info level or above. (Its own test binary: it needs the parameter at N
//! while the other io_uring tests need Y.)

mod uring_util;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use fusekit::{SessionError, Transport};
use uring_util::{
    fuse_mounts_under, mount, require_kernel, with_deadline, MiniFs, UringParam, PARAM,
};

/// Messages logged by fusekit, every level.
fn messages() -> Arc<Mutex<Vec<String>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<String>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let log = Arc::new(Mutex::new(Vec::new()));
        struct Collect(Arc<Mutex<Vec<String>>>);
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Collect {
            fn on_event(
                &self,
                event: &tracing::Event<'_>,
                _ctx: tracing_subscriber::layer::Context<'_, S>,
            ) {
                if !event.metadata().target().starts_with("fusekit") {
                    return;
                }
                struct Visit(String);
                impl tracing::field::Visit for Visit {
                    fn record_debug(
                        &mut self,
                        field: &tracing::field::Field,
                        value: &dyn std::fmt::Debug,
                    ) {
                        self.0.push_str(&format!(" {}={:?}", field.name(), value));
                    }
                }
                let mut v = Visit(format!("{}", event.metadata().level()));
                event.record(&mut v);
                self.0.lock().unwrap().push(v.0);
            }
        }
        let subscriber = tracing_subscriber::registry().with(Collect(Arc::clone(&log)));
        tracing::subscriber::set_global_default(subscriber).expect("subscriber");
        log
    })
    .clone()
}

#[test]
fn uring_off_strict_fails_auto_falls_back_once() {
    if !require_kernel("uring_off_strict_fails_auto_falls_back_once") {
        return;
    }
    // Without the parameter the kernel cannot offer io_uring at all: same expectations.
    let _param = std::path::Path::new(PARAM)
        .exists()
        .then(|| UringParam::set("N"));
    let log = messages();
    with_deadline(Duration::from_secs(60), move || {
        let err = mount(MiniFs::new(), |s| s.transport(Transport::Uring))
            .err()
            .expect("Transport::Uring must not start without io_uring");
        let text = err.to_string();
        assert!(matches!(err, SessionError::UringUnavailable(_)), "{err:?}");
        assert!(
            text.contains("enable_uring"),
            "the message names the cause: {text}"
        );
        assert!(
            fuse_mounts_under(&std::env::temp_dir().join("fusekit-uring-")).is_empty(),
            "failed start leaves no mount"
        );

        log.lock().unwrap().clear();
        let m = mount(MiniFs::new(), |s| s.transport(Transport::Auto)).expect("auto mount");
        assert_eq!(m.session().transport_in_use(), Transport::Dev);
        assert!(m.session().uring_stats().is_none());
        std::fs::write(m.path().join("x"), b"over /dev/fuse").unwrap();
        assert_eq!(
            std::fs::read(m.path().join("x")).unwrap(),
            b"over /dev/fuse"
        );
        let stats = m.finish_with_handle();
        assert!(stats.snapshot().requests > 3);
        let lines: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("using /dev/fuse"))
            .cloned()
            .collect();
        assert_eq!(lines.len(), 1, "exactly one fallback line: {lines:?}");
        assert!(lines[0].starts_with("DEBUG"), "{lines:?}");
        assert!(lines[0].contains("enable_uring"), "{lines:?}");
        let loud: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| !l.starts_with("DEBUG") && !l.starts_with("TRACE"))
            .cloned()
            .collect();
        assert!(loud.is_empty(), "nothing at info or above: {loud:?}");
    });
}
