//! ESC/POS receipts sent to a printer that is a real TCP listener on loopback, and the drawer
//! kick on the events that open the drawer. Run under `engine/scripts/with-keyring.sh`.

mod common;

use std::io::Read as _;
use std::net::TcpListener;
use std::thread::JoinHandle;

use common::*;
use pos_engine::printing::escpos::{COPY_MARK, CUT, DRAWER_KICK, INIT};
use pos_engine::{
    DrawerEvent, Engine, ErrorCode, PaperWidth, PaymentInput, PrinterKind, PrinterSettings,
};

const CASH: i64 = 1;
const CARD: i64 = 2;

/// A network printer: accepts `jobs` connections and hands back what each sent.
struct Printer {
    port: u16,
    jobs: JoinHandle<Vec<Vec<u8>>>,
}

fn printer(jobs: usize) -> Printer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let jobs = std::thread::spawn(move || {
        (0..jobs)
            .map(|_| {
                let (mut stream, _) = listener.accept().unwrap();
                let mut bytes = Vec::new();
                stream.read_to_end(&mut bytes).unwrap();
                bytes
            })
            .collect()
    });
    Printer { port, jobs }
}

fn use_printer(engine: &Engine, port: u16, paper: PaperWidth) {
    engine
        .set_printer_settings(PrinterSettings {
            kind: PrinterKind::Network,
            target: Some("127.0.0.1".into()),
            port,
            paper,
            auto_print: true,
            drawer: true,
        })
        .unwrap();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The printed text lines: ESC/GS commands taken out.
fn text_lines(bytes: &[u8]) -> Vec<String> {
    let mut text = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x1B if bytes[i + 1] == b'@' => i += 2,
            0x1B if bytes[i + 1] == b'p' => i += 5,
            0x1B => i += 3,
            0x1D => i += 4,
            b => {
                assert!(b == b'\n' || (b' '..=b'~').contains(&b), "byte {b:#x}");
                text.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(text)
        .unwrap()
        .split('\n')
        .map(str::to_string)
        .collect()
}

fn sell(
    engine: &Engine,
    code: &str,
    qty: &str,
    payment_type_id: i64,
    tendered: &str,
) -> pos_engine::CompletedSale {
    engine.cart_add_code(code, d(qty)).unwrap();
    engine
        .complete_sale(PaymentInput {
            payment_type_id: Some(payment_type_id),
            tendered: Some(d(tendered)),
        })
        .unwrap()
}

#[test]
fn a_cash_sale_prints_a_cut_receipt_with_the_drawer_kick_and_a_card_sale_without() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let printer = printer(3);
    use_printer(&engine, printer.port, PaperWidth::Mm80);

    // 2 × 1.20 + 15% VAT = 2.76 in cash; 1 × 2.49 + 5% VAT = 2.61 by card.
    let cash = sell(&engine, "COLA0", "2", CASH, "5.00");
    let printed = engine.print_after_sale(&cash).unwrap().unwrap();
    assert!(printed.printed && printed.drawer_kicked && !printed.copy);
    let card = sell(&engine, "OJ1", "1", CARD, "2.61");
    let printed = engine.print_after_sale(&card).unwrap().unwrap();
    assert!(printed.printed && !printed.drawer_kicked);
    let reprint = engine.print_sale(&cash.offline_invoice_no, true).unwrap();
    assert!(reprint.copy && !reprint.drawer_kicked);

    let jobs = printer.jobs.join().unwrap();
    for (job, (sale, total)) in jobs
        .iter()
        .zip([(&cash, "2.76"), (&card, "2.61"), (&cash, "2.76")])
    {
        assert!(job.starts_with(&INIT), "starts with ESC @");
        assert!(job.ends_with(&CUT), "ends with the cut");
        assert!(contains(job, sale.offline_invoice_no.as_bytes()));
        assert!(contains(job, format!("USD {total}").as_bytes()));
        for line in text_lines(job) {
            assert!(line.len() <= 48, "{line:?}");
        }
    }
    let (first, second, third) = (&jobs[0], &jobs[1], &jobs[2]);
    assert!(
        contains(first, &DRAWER_KICK),
        "a cash sale opens the drawer"
    );
    assert!(!contains(second, &DRAWER_KICK), "a card sale does not");
    assert!(!contains(third, &DRAWER_KICK), "a reprint does not");
    assert!(!contains(first, COPY_MARK.as_bytes()));
    assert!(contains(third, COPY_MARK.as_bytes()), "a reprint says COPY");
    // VAT by rate, the change handed back.
    let text = text_lines(first).join("\n");
    assert!(text.contains("VAT 15%") && text.contains("0.36"), "{text}");
    assert!(text.contains("Change") && text.contains("2.24"), "{text}");
    assert!(text_lines(second).join("\n").contains("VAT 5%"));
}

#[test]
fn the_58mm_layout_never_goes_past_32_columns() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    let printer = printer(2);
    use_printer(&engine, printer.port, PaperWidth::Mm58);
    engine.cart_add_code("COLA0", d("3")).unwrap();
    engine.cart_add_code("BAN", d("1.255")).unwrap();
    engine.cart_add_code("OJ1", d("2")).unwrap();
    engine
        .cart_set_discount(pos_engine::Discount::Percent(d("5")))
        .unwrap();
    let sale = engine
        .complete_sale(PaymentInput {
            payment_type_id: Some(CASH),
            tendered: Some(d("50")),
        })
        .unwrap();
    engine.print_after_sale(&sale).unwrap();
    engine.print_sale(&sale.offline_invoice_no, true).unwrap();
    for job in printer.jobs.join().unwrap() {
        let lines = text_lines(&job);
        assert!(lines.iter().all(|l| l.len() <= 32), "{lines:#?}");
        // The amounts sit flush with the paper's edge.
        assert!(
            lines
                .iter()
                .any(|l| l.len() == 32 && l.starts_with("TOTAL")),
            "{lines:#?}"
        );
        assert!(contains(&job, sale.offline_invoice_no.as_bytes()));
    }
}

#[test]
fn the_drawer_opens_on_its_events_only_when_a_drawer_is_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    // No printer: nothing to open, nothing refused.
    assert!(!engine.kick_drawer(DrawerEvent::PayIn).unwrap());

    let printer = printer(2);
    use_printer(&engine, printer.port, PaperWidth::Mm80);
    assert!(engine.kick_drawer(DrawerEvent::PayOut).unwrap());
    assert!(engine.kick_drawer(DrawerEvent::NoSale).unwrap());
    for job in printer.jobs.join().unwrap() {
        assert_eq!(job, [INIT.as_slice(), DRAWER_KICK.as_slice()].concat());
    }

    let mut settings = engine.printer_settings().unwrap();
    settings.drawer = false;
    engine.set_printer_settings(settings).unwrap();
    assert!(!engine.kick_drawer(DrawerEvent::CashRefund).unwrap());
}

#[test]
fn an_unreachable_printer_is_named_and_the_sale_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    // A port nobody listens on: bind one, then let it go.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    use_printer(&engine, port, PaperWidth::Mm80);
    let sale = sell(&engine, "COLA0", "1", CASH, "2.00");
    let error = engine.print_after_sale(&sale).unwrap_err();
    assert_eq!(error.code, ErrorCode::PrinterUnavailable);
    assert!(
        error.message.contains(&port.to_string()),
        "{}",
        error.message
    );
    assert_eq!(engine.sales(10).unwrap().len(), 1);
}

#[test]
fn printer_settings_are_checked_and_kept_in_the_local_file() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded(dir.path());
    assert_eq!(engine.printer_settings().unwrap().kind, PrinterKind::None);
    let error = engine
        .set_printer_settings(PrinterSettings {
            kind: PrinterKind::Windows,
            target: Some("  ".into()),
            port: 9100,
            paper: PaperWidth::Mm58,
            auto_print: true,
            drawer: true,
        })
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidInput);
    assert!(error.message.starts_with("target"), "{}", error.message);
    let error = engine.print_test_page().unwrap_err();
    assert_eq!(error.code, ErrorCode::PrinterUnavailable);

    let wanted = PrinterSettings {
        kind: PrinterKind::Cups,
        target: Some("receipts".into()),
        port: 9100,
        paper: PaperWidth::Mm58,
        auto_print: false,
        drawer: false,
    };
    engine.set_printer_settings(wanted.clone()).unwrap();
    drop(engine);
    assert_eq!(open(dir.path()).printer_settings().unwrap(), wanted);
}

#[test]
fn the_z_report_prints_with_its_cash_figures() {
    let dir = tempfile::tempdir().unwrap();
    let engine = seeded_by_manager(dir.path());
    engine.shift_open(d("100.00")).unwrap();
    sell(&engine, "COLA0", "2", CASH, "5.00");
    engine.shift_pay_out(d("5.50"), "milk").unwrap();
    engine
        .shift_close(pos_engine::CountedCash::Total(d("97.00")))
        .unwrap();
    let printer = printer(1);
    use_printer(&engine, printer.port, PaperWidth::Mm80);
    engine.print_shift_report().unwrap();
    let job = printer.jobs.join().unwrap().remove(0);
    assert!(job.starts_with(&INIT) && job.ends_with(&CUT));
    assert!(!contains(&job, &DRAWER_KICK));
    let text = text_lines(&job).join("\n");
    // 100 + 2.76 − 5.50 = 97.26 expected; 97.00 counted; −0.26.
    for wanted in ["Z REPORT", "97.26", "97.00", "-0.26", "Pay-outs"] {
        assert!(text.contains(wanted), "{wanted} in\n{text}");
    }
}
