//! Property: the marts do not depend on the order of rows within files or
//! on how rows are split across files.

use std::path::Path;

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use salesops::config::Config;

use super::harness::{assert_frames_close, local, mart, mart_names, run_into};

/// Copies the hand fixture with each CSV's rows shuffled and split over one
/// to three files with random names.
fn shuffled_copy(seed: u64, to: &Path) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for table in std::fs::read_dir("tests/fixtures/hand").unwrap() {
        let table = table.unwrap().path();
        if !table.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&table).unwrap() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            let mut lines = text.lines();
            let header = lines.next().unwrap();
            let mut rows: Vec<&str> = lines.collect();
            rows.shuffle(&mut rng);
            let parts = rng.gen_range(1..=3).min(rows.len().max(1));
            let dir = to.join(table.file_name().unwrap());
            std::fs::create_dir_all(&dir).unwrap();
            for (i, chunk) in rows.chunks(rows.len().div_ceil(parts).max(1)).enumerate() {
                let name = format!("{:08x}-{i}.csv", rng.gen::<u32>());
                std::fs::write(dir.join(name), format!("{header}\n{}\n", chunk.join("\n")))
                    .unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]
    #[test]
    fn shuffled_rows_and_files_give_the_same_marts(seed in any::<u64>()) {
        let config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
        let reference_dir = tempfile::tempdir().unwrap();
        let reference = local(reference_dir.path());
        run_into(&config, &local(Path::new("tests/fixtures/hand")), &reference, "2024-09-15", false).unwrap();

        let src_dir = tempfile::tempdir().unwrap();
        shuffled_copy(seed, src_dir.path());
        let out_dir = tempfile::tempdir().unwrap();
        let out = local(out_dir.path());
        run_into(&config, &local(src_dir.path()), &out, "2024-09-15", false).unwrap();
        // Floats within 1e-9 relative: a group's sum may add its rows in
        // another order (STYLE).
        for name in mart_names() {
            assert_frames_close(&format!("{name}, seed {seed}"), &mart(&out, name), &mart(&reference, name));
        }
    }
}
