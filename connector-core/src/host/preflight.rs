//! A look at a library file before the dynamic loader maps it.
//!
//! `dlopen` maps segments straight from the file: a truncated library maps
//! pages past its end, and touching them kills the whole host with SIGBUS.
//! So on ELF platforms the host first checks that the file holds every
//! segment and table its header promises.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::error::LoadProblem;

const PT_LOAD: u32 = 1;

/// Checks an ELF file's header against its length; other formats pass.
pub(super) fn check(path: &Path) -> Result<(), LoadProblem> {
    if !cfg!(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd"
    )) {
        return Ok(());
    }
    let not_library = |why: &str| LoadProblem::NotALibrary(why.to_owned());
    let mut file = File::open(path).map_err(|e| LoadProblem::Unreadable(e.to_string()))?;
    let len = file
        .metadata()
        .map_err(|e| LoadProblem::Unreadable(e.to_string()))?
        .len();
    let mut header = [0u8; 64];
    if file.read_exact(&mut header).is_err() || &header[..4] != b"\x7fELF" {
        return Err(not_library(
            "no ELF header (is this a shared library for this platform?)",
        ));
    }
    if header[4] != 2 || header[5] != 1 {
        return Err(not_library("not a 64-bit little-endian ELF file"));
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as u64;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let u64_at = |b: &[u8], at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let (phoff, shoff) = (u64_at(&header, 0x20), u64_at(&header, 0x28));
    let (phentsize, phnum) = (u16_at(&header, 0x36), u16_at(&header, 0x38));
    let (shentsize, shnum) = (u16_at(&header, 0x3A), u16_at(&header, 0x3C));
    let truncated = || not_library(&format!("the file is truncated ({len} bytes)"));
    let fits = |offset: u64, size: u64| offset.checked_add(size).is_some_and(|end| end <= len);
    if !fits(phoff, phentsize * phnum) || !fits(shoff, shentsize * shnum) || phentsize < 56 {
        return Err(truncated());
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.seek(SeekFrom::Start(phoff))
        .and_then(|_| file.read_exact(&mut table))
        .map_err(|_| truncated())?;
    for entry in table.chunks_exact(phentsize as usize) {
        if u32_at(entry, 0) == PT_LOAD && !fits(u64_at(entry, 8), u64_at(entry, 32)) {
            return Err(truncated());
        }
    }
    Ok(())
}
