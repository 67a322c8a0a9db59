//! Local files and folders: a named file is read whatever its name; a folder is walked recursively,
//! skipping hidden entries (names starting with `.`), in sorted order so runs are reproducible.

use std::fs;
use std::path::{Path, PathBuf};

use super::{KeyInfo, Listing, ObjectRef, Selection, SourceError};

/// Lists the local objects of `selection.paths`, pruned by the selection.
pub fn list_local(selection: &Selection) -> Result<Listing, SourceError> {
    let mut listing = Listing::default();
    for path in &selection.paths {
        let mut files = Vec::new();
        walk(Path::new(path), &mut files)?;
        for (file, size) in files {
            let name = file.to_string_lossy().into_owned();
            let absolute = fs::canonicalize(&file).map_err(|source| SourceError::Io {
                path: name.clone(),
                source,
            })?;
            let location = absolute
                .to_string_lossy()
                .trim_start_matches('/')
                .to_string();
            let key = KeyInfo::parse(&location);
            if selection.may_hold(&key) {
                listing.objects.push(ObjectRef {
                    name,
                    location,
                    size,
                    key,
                });
            } else {
                listing.pruned += 1;
            }
        }
    }
    Ok(listing)
}

fn walk(path: &Path, files: &mut Vec<(PathBuf, u64)>) -> Result<(), SourceError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SourceError::NotFound {
                path: path.display().to_string(),
            }
        } else {
            SourceError::Io {
                path: path.display().to_string(),
                source,
            }
        }
    };
    let meta = fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        files.push((path.to_path_buf(), meta.len()));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(path)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden {
            walk(&entry, files)?;
        }
    }
    Ok(())
}
