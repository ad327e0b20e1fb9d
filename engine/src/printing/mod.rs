//! Receipt printing: the printer settings of this till and the ways bytes reach a printer.
//!
//! Transports: a network printer on raw TCP (port 9100 by default), a Windows printer by name
//! through the spooler in RAW mode, or a CUPS queue (`lp -o raw`) elsewhere. The bytes come
//! from [`escpos`]; when no printer is set, the window falls back to the system print dialog.

pub mod escpos;

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use rusqlite::{params, Connection};

use crate::error::{EngineError, ErrorCode, Result};
use crate::views::{PaperWidth, PrinterKind, PrinterSettings};

/// How long a network printer may take to accept the connection and the bytes.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);

pub fn load(conn: &Connection) -> Result<PrinterSettings> {
    Ok(conn
        .prepare_cached(
            "SELECT kind, target, port, paper_mm, auto_print, drawer FROM printer_settings
             WHERE id = 1",
        )?
        .query_row([], |r| {
            let kind: String = r.get(0)?;
            let paper: i64 = r.get(3)?;
            Ok(PrinterSettings {
                kind: match kind.as_str() {
                    "network" => PrinterKind::Network,
                    "windows" => PrinterKind::Windows,
                    "cups" => PrinterKind::Cups,
                    _ => PrinterKind::None,
                },
                target: r.get(1)?,
                port: r.get(2)?,
                paper: if paper == 58 {
                    PaperWidth::Mm58
                } else {
                    PaperWidth::Mm80
                },
                auto_print: r.get(4)?,
                drawer: r.get(5)?,
            })
        })?)
}

/// Checks and keeps the settings; a printer kind needs its target.
pub fn save(tx: &Connection, settings: &PrinterSettings) -> Result<PrinterSettings> {
    let target = settings
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if settings.kind != PrinterKind::None && target.is_none() {
        return Err(EngineError::invalid(match settings.kind {
            PrinterKind::Network => "target: the printer's host name or address",
            PrinterKind::Windows => "target: the Windows printer's name",
            _ => "target: the CUPS queue's name",
        }));
    }
    if settings.port == 0 {
        return Err(EngineError::invalid(
            "port: 1 to 65535 (9100 for most printers)",
        ));
    }
    tx.execute(
        "UPDATE printer_settings SET kind = ?1, target = ?2, port = ?3, paper_mm = ?4,
           auto_print = ?5, drawer = ?6 WHERE id = 1",
        params![
            settings.kind.as_str(),
            target,
            settings.port,
            match settings.paper {
                PaperWidth::Mm58 => 58,
                PaperWidth::Mm80 => 80,
            },
            settings.auto_print,
            settings.drawer
        ],
    )?;
    load(tx)
}

fn unavailable(message: String) -> EngineError {
    EngineError::new(ErrorCode::PrinterUnavailable, message)
}

/// Sends a whole document to the configured printer.
pub fn send(settings: &PrinterSettings, bytes: &[u8]) -> Result<()> {
    let target = settings.target.as_deref().unwrap_or_default();
    match settings.kind {
        PrinterKind::None => Err(unavailable(
            "no receipt printer is set on this till (settings → printer)".into(),
        )),
        PrinterKind::Network => send_tcp(target, settings.port, bytes),
        PrinterKind::Cups => send_cups(target, bytes),
        PrinterKind::Windows => send_windows(target, bytes),
    }
}

/// Raw TCP ("JetDirect", port 9100): the printer prints what it reads.
fn send_tcp(host: &str, port: u16, bytes: &[u8]) -> Result<()> {
    let what = format!("printer {host}:{port}");
    let address = (host, port)
        .to_socket_addrs()
        .map_err(|e| unavailable(format!("{what}: {e}")))?
        .next()
        .ok_or_else(|| unavailable(format!("{what}: no address")))?;
    let mut stream = TcpStream::connect_timeout(&address, NETWORK_TIMEOUT)
        .map_err(|e| unavailable(format!("{what}: {e}")))?;
    stream
        .set_write_timeout(Some(NETWORK_TIMEOUT))
        .and_then(|()| stream.write_all(bytes))
        .and_then(|()| stream.flush())
        .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
        .map_err(|e| unavailable(format!("{what}: {e}")))
}

/// A CUPS queue set up for raw jobs: `lp -d QUEUE -o raw`, the bytes on its standard input.
fn send_cups(queue: &str, bytes: &[u8]) -> Result<()> {
    let mut child = std::process::Command::new("lp")
        .args(["-d", queue, "-o", "raw", "-s"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| unavailable(format!("CUPS queue {queue}: cannot run lp: {e}")))?;
    child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(bytes))
        .transpose()
        .map_err(|e| unavailable(format!("CUPS queue {queue}: {e}")))?;
    let output = child
        .wait_with_output()
        .map_err(|e| unavailable(format!("CUPS queue {queue}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(unavailable(format!(
            "CUPS queue {queue}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(windows)]
fn send_windows(name: &str, bytes: &[u8]) -> Result<()> {
    windows_spooler::send_raw(name, bytes)
        .map_err(|e| unavailable(format!("Windows printer '{name}': {e}")))
}

#[cfg(not(windows))]
fn send_windows(name: &str, _bytes: &[u8]) -> Result<()> {
    Err(unavailable(format!(
        "Windows printer '{name}': only on Windows (use a CUPS queue or a network printer here)"
    )))
}

/// The spooler's RAW data type hands the bytes to the printer untouched (no driver rendering),
/// which is what ESC/POS needs.
#[cfg(windows)]
mod windows_spooler {
    use windows_sys::Win32::Foundation::{GetLastError, HANDLE};
    use windows_sys::Win32::Graphics::Printing::{
        ClosePrinter, EndDocPrinter, EndPagePrinter, OpenPrinterW, StartDocPrinterW,
        StartPagePrinter, WritePrinter, DOC_INFO_1W,
    };

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().chain(std::iter::once(0)).collect()
    }

    fn last_error(step: &str) -> String {
        // SAFETY: reads the calling thread's last-error value; no memory is touched.
        format!("{step} failed (error {})", unsafe { GetLastError() })
    }

    pub fn send_raw(name: &str, bytes: &[u8]) -> Result<(), String> {
        let printer = wide(name);
        let mut document = wide("Receipt");
        let mut datatype = wide("RAW");
        let mut handle: HANDLE = std::ptr::null_mut();
        // SAFETY: every pointer is to a live, NUL-terminated buffer of this frame or to `handle`;
        // the handle is closed on every path after it was opened.
        unsafe {
            if OpenPrinterW(printer.as_ptr(), &mut handle, std::ptr::null()) == 0 {
                return Err(last_error("OpenPrinter"));
            }
            let info = DOC_INFO_1W {
                pDocName: document.as_mut_ptr(),
                pOutputFile: std::ptr::null_mut(),
                pDatatype: datatype.as_mut_ptr(),
            };
            let result = (|| {
                if StartDocPrinterW(handle, 1, &info as *const DOC_INFO_1W as *const _) == 0 {
                    return Err(last_error("StartDocPrinter"));
                }
                let page = if StartPagePrinter(handle) == 0 {
                    Err(last_error("StartPagePrinter"))
                } else {
                    let mut written = 0u32;
                    let ok = WritePrinter(
                        handle,
                        bytes.as_ptr() as *const _,
                        bytes.len() as u32,
                        &mut written,
                    );
                    EndPagePrinter(handle);
                    if ok == 0 {
                        Err(last_error("WritePrinter"))
                    } else if written as usize != bytes.len() {
                        Err(format!(
                            "WritePrinter wrote {written} of {} bytes",
                            bytes.len()
                        ))
                    } else {
                        Ok(())
                    }
                };
                EndDocPrinter(handle);
                page
            })();
            ClosePrinter(handle);
            result
        }
    }
}
