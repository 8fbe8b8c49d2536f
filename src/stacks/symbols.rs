//! Addresses to functions and `file:line`: addr2line over each module's
//! DWARF (or its separate debug file under `/usr/lib/debug/.build-id/`),
//! then its symbol table, sized (an address past a symbol's end is not
//! that symbol), and where neither covers it the module and offset alone.

use super::NativeFrame;
use super::unwind::{Loaded, Modules};
use framehop::FrameAddress;
use object::Object;
use std::collections::HashMap;

/// One module's symbols, opened once per [`super::take`].
struct ModuleSymbols {
    loader: addr2line::Loader,
    /// DWARF from a separate debug file, when the module has none of its own.
    debug: Option<addr2line::Loader>,
}

/// Opens modules as frames need them.
pub(super) struct Symbolizer {
    pid: u32,
    opened: HashMap<String, Option<ModuleSymbols>>,
}

impl Symbolizer {
    pub(super) fn new(pid: u32) -> Self {
        Self { pid, opened: HashMap::new() }
    }

    /// Symbolized frames for `addresses` (innermost first); an address with
    /// inlined functions gives one frame per function, innermost first.
    pub(super) fn frames(&mut self, addresses: &[FrameAddress], modules: &Modules) -> Vec<NativeFrame> {
        let mut out = Vec::new();
        for &address in addresses {
            let avma = address.address();
            let Some(module) = modules.at(avma) else {
                out.push(NativeFrame { address: avma, ..NativeFrame::default() });
                continue;
            };
            let lookup = address.address_for_lookup().wrapping_sub(module.bias);
            let bare = NativeFrame {
                address: avma,
                module: Some(module.name.clone()),
                offset: Some(avma.wrapping_sub(module.bias)),
                ..NativeFrame::default()
            };
            match self.symbols(module) {
                Some(symbols) => out.extend(symbolize(symbols, lookup, bare)),
                None => out.push(bare),
            }
        }
        out
    }

    fn symbols(&mut self, module: &Loaded) -> Option<&ModuleSymbols> {
        if module.replaced {
            return None;
        }
        let pid = self.pid;
        self.opened
            .entry(module.name.clone())
            .or_insert_with(|| {
                let path = module.open_as.as_deref()?;
                let loader = addr2line::Loader::new(path).ok()?;
                let debug = debug_file(pid, path).and_then(|p| addr2line::Loader::new(p).ok());
                Some(ModuleSymbols { loader, debug })
            })
            .as_ref()
    }
}

/// The frames DWARF gives for `probe` (inlined ones first), else the sized
/// symbol that holds it, else `bare` alone.
fn symbolize(symbols: &ModuleSymbols, probe: u64, bare: NativeFrame) -> Vec<NativeFrame> {
    for loader in [&symbols.loader].into_iter().chain(symbols.debug.as_ref()) {
        let mut out = Vec::new();
        if let Ok(mut frames) = loader.find_frames(probe) {
            while let Ok(Some(frame)) = frames.next() {
                let Some(function) = frame.function.as_ref().and_then(|f| f.demangle().ok()) else {
                    continue;
                };
                let location = frame.location.as_ref().and_then(|l| {
                    let file = l.file?;
                    Some(match l.line {
                        Some(line) => format!("{file}:{line}"),
                        None => file.to_owned(),
                    })
                });
                out.push(NativeFrame {
                    function: Some(function.into_owned()),
                    location,
                    inlined: true,
                    ..bare.clone()
                });
            }
        }
        if let Some(last) = out.last_mut() {
            // The outermost of an address's functions is the real frame.
            last.inlined = false;
            return out;
        }
    }
    let named = symbols
        .loader
        .find_symbol_info(probe)
        .map(|s| addr2line::demangle_auto(std::borrow::Cow::Borrowed(s.name()), None).into_owned());
    vec![NativeFrame { function: named, ..bare }]
}

/// The separate debug file for `path` by its build id
/// (`/usr/lib/debug/.build-id/ab/cdef….debug`, as gdb and eu-stack find
/// them), looked up inside the target's root first.
fn debug_file(pid: u32, path: &str) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let cache = object::ReadCache::new(file);
    let object = object::File::parse(&cache).ok()?;
    if object.has_debug_symbols() {
        return None;
    }
    let id = object.build_id().ok()??;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    if hex.len() < 3 {
        return None;
    }
    let relative = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
    [format!("/proc/{pid}/root{relative}"), relative].into_iter().find(|p| std::path::Path::new(p).exists())
}
