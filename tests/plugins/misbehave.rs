//! Plugins that break the rules on purpose, to test the host.

pub async fn run(role: &str) {
    eprintln!("test-plugin: unknown role `{role}`");
    std::process::exit(64);
}
