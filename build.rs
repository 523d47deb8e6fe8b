//! Compiles `proto/dualwarn/v1/*.proto` with the vendored protoc, and writes
//! the descriptor set that gRPC server reflection serves, and the serde
//! (proto3 JSON) impls that the web console's JSON API uses.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("dualwarn_descriptor.bin"))
        .compile_protos(
            &[
                "proto/dualwarn/v1/alert.proto",
                "proto/dualwarn/v1/task.proto",
                "proto/dualwarn/v1/rules.proto",
                "proto/dualwarn/v1/graph.proto",
                "proto/dualwarn/v1/directory.proto",
            ],
            &["proto"],
        )?;
    // serde for every message in the proto3 JSON mapping (enum names, 64-bit
    // integers as strings), with the .proto field names: the web console's
    // JSON is the gRPC console's messages, not a second schema.
    let descriptors = std::fs::read(out.join("dualwarn_descriptor.bin"))?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .preserve_proto_field_names()
        .build(&[".dualwarn"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
