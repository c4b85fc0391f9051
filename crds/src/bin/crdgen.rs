//! Writes the CRD YAML of supaplane's resources into the chart.
//!
//! `cargo run -p supaplane-crds --bin crdgen [OUTPUT_DIR]`
//! (default: charts/supaplane/crds at the workspace root).

#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context as _;

fn main() -> anyhow::Result<()> {
    let output = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/supaplane/crds")
        });
    std::fs::create_dir_all(&output).with_context(|| format!("creating {}", output.display()))?;
    for crd in supaplane_crds::all_crds() {
        let path = output.join(supaplane_crds::crd_file_name(&crd));
        std::fs::write(&path, supaplane_crds::crd_yaml(&crd)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
