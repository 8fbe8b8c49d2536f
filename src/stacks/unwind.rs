//! Unwinding a copied stack with framehop: each mapped ELF module's unwind
//! sections (`.eh_frame`, `.eh_frame_hdr`, `.debug_frame`) read from its
//! file (or, for the vDSO, from the process's memory), placed at the
//! address the process loaded it at.

use super::StackEnd;
use super::capture::Copied;
use super::maps::Mapping;
use framehop::{
    CacheNative, ExplicitModuleSectionInfo, FrameAddress, MayAllocateDuringUnwind, Module, UnwindRegsNative,
    Unwinder, UnwinderNative,
};
use object::{Object, ObjectSection, ObjectSegment};
use std::collections::BTreeMap;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;

/// A module as loaded in the target: where, and how to turn its addresses
/// into the file's own (`svma = avma - bias`).
#[derive(Debug, Clone)]
pub(super) struct Loaded {
    /// The path as the process sees it (`/usr/lib/…/libc.so.6`, `[vdso]`).
    pub(super) name: String,
    /// Where we open it (`/proc/<pid>/root/…`, or `/proc/<pid>/map_files/…`
    /// for a deleted file); `None` for the vDSO or a file we cannot open.
    pub(super) open_as: Option<String>,
    /// Every address it covers in the target.
    pub(super) range: Range<u64>,
    /// The load bias: target address minus the file's own address.
    pub(super) bias: u64,
    /// The file on disk is not the one that was mapped (its inode
    /// differs): no symbols are looked up in it.
    pub(super) replaced: bool,
}

/// The target's modules, for unwinding and for symbols.
pub(super) struct Modules {
    unwinder: UnwinderNative<Vec<u8>, MayAllocateDuringUnwind>,
    loaded: Vec<Loaded>,
}

impl Modules {
    /// Every executable file mapping of `maps`, and the vDSO.
    pub(super) fn load(pid: u32, maps: &[Mapping]) -> Modules {
        let mut unwinder = UnwinderNative::new();
        let mut loaded = Vec::new();
        // All mappings of one file, by path (a module has several: text, data, read-only data).
        let mut files: BTreeMap<&str, Vec<&Mapping>> = BTreeMap::new();
        for m in maps.iter().filter(|m| m.is_file() || m.path == "[vdso]") {
            files.entry(m.path.as_str()).or_default().push(m);
        }
        for (path, mappings) in files {
            let Some(text) = mappings.iter().find(|m| m.execute) else { continue };
            let range = mappings.iter().map(|m| m.start).min().unwrap_or(text.start)
                ..mappings.iter().map(|m| m.end).max().unwrap_or(text.end);
            let module = if path == "[vdso]" {
                vdso(pid, text)
                    .and_then(|bytes| module_of(bytes.as_slice(), path, None, text, range, &mut unwinder))
            } else {
                let open_as = if text.deleted() {
                    format!("/proc/{pid}/map_files/{:x}-{:x}", text.start, text.end)
                } else {
                    format!("/proc/{pid}/root{path}")
                };
                let file = std::fs::File::open(&open_as).or_else(|_| std::fs::File::open(path));
                file.ok().and_then(|file| {
                    let replaced = file.metadata().is_ok_and(|m| m.ino() != text.inode);
                    let cache = object::ReadCache::new(file);
                    let mut loaded = module_of(&cache, path, Some(open_as), text, range, &mut unwinder)?;
                    loaded.replaced = replaced;
                    Some(loaded)
                })
            };
            // A module we cannot read still has a name and a range for
            // the frames in it (offsets from its first mapping).
            loaded.push(module.unwrap_or_else(|| Loaded {
                name: path.to_owned(),
                open_as: None,
                range: mappings.iter().map(|m| m.start).min().unwrap_or(text.start)
                    ..mappings.iter().map(|m| m.end).max().unwrap_or(text.end),
                bias: text.start.wrapping_sub(text.offset),
                replaced: false,
            }));
        }
        loaded.sort_by_key(|l| l.range.start);
        Modules { unwinder, loaded }
    }

    /// The module holding `address`.
    pub(super) fn at(&self, address: u64) -> Option<&Loaded> {
        let i = self.loaded.partition_point(|l| l.range.start <= address);
        self.loaded[..i].last().filter(|l| address < l.range.end)
    }

    /// The frames of one copied stack (innermost first), and how the walk ended.
    pub(super) fn unwind(&self, copy: &Copied, max_frames: usize) -> (Vec<FrameAddress>, StackEnd) {
        let base = copy.registers.sp;
        let top = base + copy.stack.len() as u64;
        let mut past_copy = false;
        let mut read_stack = |address: u64| -> Result<u64, ()> {
            if address < base || address.saturating_add(8) > top {
                past_copy |= address >= top;
                return Err(());
            }
            let at = (address - base) as usize;
            let bytes: [u8; 8] = copy.stack[at..at + 8].try_into().map_err(|_| ())?;
            Ok(u64::from_ne_bytes(bytes))
        };
        let mut cache = CacheNative::<MayAllocateDuringUnwind>::new();
        let r = copy.registers;
        #[cfg(target_arch = "x86_64")]
        let regs = UnwindRegsNative::new(r.ip, r.sp, r.fp);
        #[cfg(target_arch = "aarch64")]
        let regs = UnwindRegsNative::new(r.lr, r.sp, r.fp);
        let mut frames = self.unwinder.iter_frames(r.ip, regs, &mut cache, &mut read_stack);
        let mut out = Vec::new();
        let end = loop {
            if out.len() >= max_frames {
                break StackEnd::FrameLimit(max_frames);
            }
            match frames.next() {
                Ok(Some(frame)) => out.push(frame),
                Ok(None) => break StackEnd::Complete,
                Err(e) => break StackEnd::Stopped(e.to_string()),
            }
        };
        let end = match end {
            StackEnd::Stopped(_) if past_copy => StackEnd::CutAtWindow(copy.stack.len()),
            other => other,
        };
        (out, end)
    }
}

/// The vDSO's bytes, from the target's memory (it is the same image in
/// every process of a kernel, but its address differs).
fn vdso(pid: u32, mapping: &Mapping) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; usize::try_from(mapping.end - mapping.start).ok()?.min(1 << 20)];
    let n = crate::sys::read_process_memory(pid, mapping.start, &mut bytes).ok()?;
    bytes.truncate(n);
    Some(bytes)
}

/// Parses one ELF module and adds its unwind sections to `unwinder`.
fn module_of<'data, R: object::ReadRef<'data>>(
    data: R,
    name: &str,
    open_as: Option<String>,
    text: &Mapping,
    range: Range<u64>,
    unwinder: &mut UnwinderNative<Vec<u8>, MayAllocateDuringUnwind>,
) -> Option<Loaded> {
    let file = object::File::parse(data).ok()?;
    let bias = bias_of(&file, text)?;
    let section = |name: &str| {
        let s = file.section_by_name(name)?;
        Some((s.address()..s.address() + s.size(), s.uncompressed_data().ok()?.into_owned()))
    };
    let (eh_frame_svma, eh_frame) = section(".eh_frame").unzip();
    let (eh_frame_hdr_svma, eh_frame_hdr) = section(".eh_frame_hdr").unzip();
    let (text_svma, text_bytes) = section(".text").unzip();
    let got_svma = section(".got").map(|(r, _)| r);
    let debug_frame = section(".debug_frame").map(|(_, d)| d);
    let info = ExplicitModuleSectionInfo {
        base_svma: 0,
        text_svma,
        text: text_bytes,
        got_svma,
        eh_frame_svma,
        eh_frame,
        eh_frame_hdr_svma,
        eh_frame_hdr,
        debug_frame,
        ..Default::default()
    };
    unwinder.add_module(Module::new(name.to_owned(), range.clone(), bias, info));
    Some(Loaded { name: name.to_owned(), open_as, range, bias, replaced: false })
}

/// The load bias of `file` mapped as `text`: the loadable segment that the
/// mapping (page-aligned, as the loader maps it) begins says which of the
/// file's addresses it starts at. Two segments can share a page (the text
/// segment often begins on the last page of the read-only one): the later
/// one is the mapping's.
pub(super) fn bias_of<'data>(
    file: &object::File<'data, impl object::ReadRef<'data>>,
    text: &Mapping,
) -> Option<u64> {
    const PAGE: u64 = 4096;
    file.segments()
        .filter_map(|segment| {
            let (offset, size) = segment.file_range();
            let aligned = offset - offset % PAGE;
            (aligned <= text.offset && text.offset < offset + size.max(1)).then(|| {
                let vaddr = segment.address() - segment.address() % PAGE;
                (aligned, text.start.wrapping_sub(vaddr + (text.offset - aligned)))
            })
        })
        .max_by_key(|(aligned, _)| *aligned)
        .map(|(_, bias)| bias)
}
