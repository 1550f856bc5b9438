//! Generates the Rust API from `sanxiang/v1/*.proto` with protox, so no system protoc is needed.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "sanxiang/v1/common.proto",
        "sanxiang/v1/registry.proto",
        "sanxiang/v1/record.proto",
        "sanxiang/v1/review.proto",
        "sanxiang/v1/publicity.proto",
        "sanxiang/v1/log.proto",
        "sanxiang/v1/filing.proto",
        "sanxiang/v1/complaints.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let fds = protox::compile(files, ["."])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // Server reflection serves this descriptor set, so grpcurl can discover every service.
    std::fs::write(out.join("sanxiang_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        // Evidence bytes travel as `bytes::Bytes`, so streaming them never copies.
        .bytes(".sanxiang")
        // A request that does not decode is the client's fault: INVALID_ARGUMENT (codec.rs).
        .codec_path("crate::codec::Codec")
        .compile_fds(fds)?;
    Ok(())
}
