//! The relay binary runs with glibc's allocator settings (`chatsync_relay::malloc_tuning`): started
//! without them it starts itself again with them — same process — and an operator's own value is
//! kept.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment of the relay started with `env` (waits until it has exec'd, at most 10 s).
fn relay_environment(env: &[(&str, &str)]) -> String {
    let data = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatsync-relay"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .env(
            "CHATSYNC_JWT_SECRET",
            "malloc-tuning-test-secret-0123456789",
        )
        .env_remove("MALLOC_ARENA_MAX")
        .env_remove("MALLOC_MMAP_THRESHOLD_")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("the relay binary");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut environment = String::new();
    while Instant::now() < deadline {
        // Once it serves, it has exec'd (the settings are applied before anything else).
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let raw = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
            environment = String::from_utf8_lossy(&raw).replace('\0', "\n");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!environment.is_empty(), "the relay did not start serving");
    environment
}

#[test]
fn the_relay_runs_with_two_arenas_and_a_fixed_mmap_threshold() {
    let environment = relay_environment(&[]);
    assert!(
        environment.lines().any(|l| l == "MALLOC_ARENA_MAX=2"),
        "{environment}"
    );
    assert!(
        environment
            .lines()
            .any(|l| l == "MALLOC_MMAP_THRESHOLD_=65536"),
        "{environment}"
    );
}

#[test]
fn an_operators_own_setting_is_kept() {
    let environment = relay_environment(&[("MALLOC_ARENA_MAX", "4")]);
    assert!(
        environment.lines().any(|l| l == "MALLOC_ARENA_MAX=4"),
        "{environment}"
    );
    assert!(
        environment
            .lines()
            .any(|l| l == "MALLOC_MMAP_THRESHOLD_=65536"),
        "{environment}"
    );
}
