//! Keywords as method and argument names, written as raw identifiers.
#![deny(warnings)]

#[goproc::plugin_interface]
pub trait Keywords {
    async fn r#match(&self, r#type: String, r#in: u8) -> bool;
    async fn r#async(&self) -> u8;
}

struct Impl;

impl Keywords for Impl {
    async fn r#match(&self, r#type: String, r#in: u8) -> bool {
        r#type.len() == usize::from(r#in)
    }

    async fn r#async(&self) -> u8 {
        7
    }
}

async fn host(k: KeywordsClient) -> Result<bool, goproc::Error> {
    let _: u8 = k.r#async().await?;
    k.r#match("abc".to_string(), 3).await
}

fn main() {
    let _ = host;
    let _server = KeywordsServer::new(Impl);
}
