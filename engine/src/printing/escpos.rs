//! ESC/POS bytes: the command set every thermal receipt printer understands, and the layouts
//! of what the till prints (a sale's receipt, the X/Z report, a test page, a drawer pulse).
//!
//! Text is sent as plain ASCII: the printer's default code page (CP437) agrees with ASCII, and
//! any other character becomes `?` rather than a wrong glyph. Every line is cut to the paper's
//! columns here, so the printer never wraps one by itself.

use pos_protocol::Decimal;

use crate::views::{PaperWidth, SaleDetail, ShiftReport, ShiftReportKind};

/// ESC @: reset the printer to its power-on state.
pub const INIT: [u8; 2] = [0x1B, b'@'];
/// ESC p 0 25 250: a 50 ms pulse on drawer pin 2, then 500 ms off — the usual drawer kick.
pub const DRAWER_KICK: [u8; 5] = [0x1B, b'p', 0x00, 0x19, 0xFA];
/// GS V 66 0: feed to the cutter and cut (partial cut where the printer has one).
pub const CUT: [u8; 4] = [0x1D, b'V', 66, 0x00];
/// Marks a reprint, at its top and its bottom.
pub const COPY_MARK: &str = "*** COPY ***";

impl PaperWidth {
    /// Characters per line in the printer's standard font A.
    pub fn columns(self) -> usize {
        match self {
            PaperWidth::Mm80 => 48,
            PaperWidth::Mm58 => 32,
        }
    }
}

/// A document being built: commands and lines no wider than the paper.
pub struct Receipt {
    bytes: Vec<u8>,
    columns: usize,
}

/// ASCII only: what CP437 prints as written.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\t' => ' ',
            _ => '?',
        })
        .collect()
}

impl Receipt {
    /// Starts with ESC @ and, when asked, the drawer kick (the drawer opens while it prints).
    pub fn new(width: PaperWidth, kick: bool) -> Receipt {
        let mut bytes = INIT.to_vec();
        if kick {
            bytes.extend_from_slice(&DRAWER_KICK);
        }
        Receipt {
            bytes,
            columns: width.columns(),
        }
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    fn align(&mut self, centre: bool) {
        self.bytes
            .extend_from_slice(&[0x1B, b'a', u8::from(centre)]);
    }

    fn bold(&mut self, on: bool) {
        self.bytes.extend_from_slice(&[0x1B, b'E', u8::from(on)]);
    }

    fn raw_line(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.push(b'\n');
    }

    /// Text, wrapped at word boundaries to the paper's width (a word longer than a line is cut).
    pub fn text(&mut self, text: &str) {
        let text = printable(text);
        let mut line = String::new();
        for word in text.split_whitespace() {
            let word: String = word.chars().take(self.columns).collect();
            if !line.is_empty() && line.len() + 1 + word.len() > self.columns {
                self.raw_line(&line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        self.raw_line(&line);
    }

    pub fn centred(&mut self, text: &str, bold: bool) {
        self.align(true);
        if bold {
            self.bold(true);
        }
        self.text(text);
        if bold {
            self.bold(false);
        }
        self.align(false);
    }

    /// `left` and `right` on one line, `right` flush with the edge; `left` is shortened when
    /// both do not fit.
    pub fn pair(&mut self, left: &str, right: &str) {
        let right: String = printable(right).chars().take(self.columns).collect();
        let room = self.columns.saturating_sub(right.len() + 1);
        let left: String = printable(left).chars().take(room).collect();
        let gap = self.columns - left.len() - right.len();
        self.raw_line(&format!("{left}{}{right}", " ".repeat(gap)));
    }

    pub fn bold_pair(&mut self, left: &str, right: &str) {
        self.bold(true);
        self.pair(left, right);
        self.bold(false);
    }

    pub fn rule(&mut self) {
        let rule = "-".repeat(self.columns);
        self.raw_line(&rule);
    }

    /// Feeds past the tear bar, cuts, and hands the bytes over: a document always ends cut.
    pub fn cut(mut self) -> Vec<u8> {
        self.bytes.extend_from_slice(&[0x1B, b'd', 4]);
        self.bytes.extend_from_slice(&CUT);
        self.bytes
    }
}

/// An amount with exactly the currency's decimals.
fn money(amount: Decimal, minor_units: u32) -> String {
    let digits = minor_units as usize;
    format!("{:.digits$}", amount.round_dp(minor_units))
}

fn quantity(q: Decimal) -> String {
    q.normalize().to_string()
}

fn local_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A sale's receipt: header, lines, discounts, VAT by rate, total, payment, a COPY mark on
/// reprints, and the cut. `kick` opens the drawer (a cash sale's first print).
pub fn sale_receipt(sale: &SaleDetail, width: PaperWidth, copy: bool, kick: bool) -> Vec<u8> {
    let (minor, code) = sale
        .currency
        .as_ref()
        .map(|c| (c.minor_units, c.code.as_str()))
        .unwrap_or((2, ""));
    let m = |amount: Decimal| money(amount, minor);
    let mut r = Receipt::new(width, kick);
    r.centred(&sale.business_name, true);
    if copy {
        r.centred(COPY_MARK, true);
    }
    r.pair(
        "Invoice",
        sale.invoice_number
            .as_deref()
            .unwrap_or(&sale.offline_invoice_no),
    );
    if sale.invoice_number.is_some() {
        r.pair("Offline no.", &sale.offline_invoice_no);
    }
    r.pair("Date", &local_time(sale.sale_date));
    if let Some(cashier) = &sale.cashier_name {
        r.pair("Cashier", cashier);
    }
    if let Some(customer) = &sale.customer {
        r.pair("Customer", &customer.name);
    }
    r.rule();
    for line in &sale.lines {
        r.text(&line.name);
        r.pair(
            &format!("  {} x {}", quantity(line.quantity), m(line.unit_price)),
            &m(line.total),
        );
        if !line.discount.is_zero() {
            r.pair("  discount", &format!("-{}", m(line.discount)));
        }
    }
    r.rule();
    r.pair("Subtotal", &m(sale.subtotal));
    let discount = sale.line_discount + sale.cart_discount;
    if !discount.is_zero() {
        r.pair("Discount", &format!("-{}", m(discount)));
    }
    for (rate, vat) in vat_by_rate(sale) {
        let label = if sale.vat_inclusive {
            format!("incl. VAT {}%", rate.normalize())
        } else {
            format!("VAT {}%", rate.normalize())
        };
        r.pair(&label, &m(vat));
    }
    r.bold_pair("TOTAL", format!("{code} {}", m(sale.total)).trim());
    r.pair(
        &format!("Paid ({})", sale.payment_type_name),
        &m(sale.tendered),
    );
    if !sale.change.is_zero() {
        r.pair("Change", &m(sale.change));
    }
    if !sale.due.is_zero() {
        r.pair("Due", &m(sale.due));
    }
    r.rule();
    if copy {
        r.centred(COPY_MARK, true);
    }
    r.centred("Thank you", false);
    r.cut()
}

/// VAT of the sale per rate, lowest rate first; rates that charged nothing are left out.
fn vat_by_rate(sale: &SaleDetail) -> Vec<(Decimal, Decimal)> {
    let mut rates: Vec<(Decimal, Decimal)> = Vec::new();
    for line in &sale.lines {
        match rates.iter_mut().find(|(rate, _)| *rate == line.vat_rate) {
            Some((_, vat)) => *vat += line.vat_amount,
            None => rates.push((line.vat_rate, line.vat_amount)),
        }
    }
    rates.retain(|(_, vat)| !vat.is_zero());
    rates.sort_by_key(|rate| rate.0);
    rates
}

/// The X or Z report on paper: what the screen shows, for the drawer's paperwork.
pub fn shift_report(
    report: &ShiftReport,
    business: &str,
    minor_units: u32,
    width: PaperWidth,
) -> Vec<u8> {
    let m = |amount: Decimal| money(amount, minor_units);
    let mut r = Receipt::new(width, false);
    r.centred(business, true);
    r.centred(
        match report.kind {
            ShiftReportKind::X => "X REPORT (shift open)",
            ShiftReportKind::Z => "Z REPORT (shift closed)",
        },
        true,
    );
    r.pair("Shift", &report.shift_local_id.to_string());
    if let Some(cashier) = &report.cashier_name {
        r.pair("Cashier", cashier);
    }
    r.pair("Opened", &local_time(report.opened_at));
    if let Some(closed) = report.closed_at {
        r.pair("Closed", &local_time(closed));
    }
    r.rule();
    r.pair(
        &format!("Sales ({})", report.sales_count),
        &m(report.sales_total),
    );
    r.pair("Discounts", &m(report.discounts));
    r.pair("VAT", &m(report.vat));
    r.pair("Left due", &m(report.due));
    r.pair(
        &format!("Refunds ({})", report.refunds_count),
        &m(report.refunds),
    );
    r.pair("Refunds VAT", &m(report.refunds_vat));
    r.rule();
    for t in &report.by_payment_type {
        r.text(&t.name);
        r.pair(&format!("  sales ({})", t.sales_count), &m(t.sales));
        if !t.due_collections.is_zero() {
            r.pair("  due collected", &m(t.due_collections));
        }
        if !t.refunds.is_zero() {
            r.pair("  refunds", &format!("-{}", m(t.refunds)));
        }
    }
    r.rule();
    r.pair("Opening float", &m(report.opening_float));
    r.pair("Cash sales", &m(report.cash_sales));
    if !report.cash_due_collections.is_zero() {
        r.pair("Cash due collected", &m(report.cash_due_collections));
    }
    r.pair("Cash refunds", &format!("-{}", m(report.cash_refunds)));
    r.pair("Pay-ins", &m(report.pay_ins));
    r.pair("Pay-outs", &format!("-{}", m(report.pay_outs)));
    r.bold_pair("Expected cash", &m(report.expected_cash));
    if let Some(counts) = &report.counted_denominations {
        for c in counts {
            r.pair(
                &format!("  {} x {}", c.count, m(c.value)),
                &m(c.value * Decimal::from(c.count)),
            );
        }
    }
    if let Some(counted) = report.counted_cash {
        r.bold_pair("Counted cash", &m(counted));
    }
    if let Some(difference) = report.difference {
        r.bold_pair("Difference", &m(difference));
    }
    r.cut()
}

/// A page that proves the printer, the paper width and the cutter.
pub fn test_page(width: PaperWidth, device: &str) -> Vec<u8> {
    let mut r = Receipt::new(width, false);
    r.centred("TEST PRINT", true);
    r.pair("Till", device);
    r.pair("Paper", &format!("{} columns", r.columns()));
    let ruler: String = (0..r.columns())
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    r.text(&ruler);
    r.centred("If this line is whole, the width is right.", false);
    r.cut()
}

/// Only the drawer pulse (a no-sale opening, a pay-in or pay-out).
pub fn drawer_kick() -> Vec<u8> {
    let mut bytes = INIT.to_vec();
    bytes.extend_from_slice(&DRAWER_KICK);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text lines of a document, commands taken out.
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

    #[test]
    fn pairs_and_wrapped_text_stay_within_the_columns() {
        for width in [PaperWidth::Mm58, PaperWidth::Mm80] {
            let mut r = Receipt::new(width, true);
            r.centred("Extra long product name that goes on and on past the edge of any paper roll Supercalifragilisticexpialidocious-and-more-and-more-and-more", true);
            r.pair(
                "A label far too long for the paper it is printed on, really",
                "1234567.89",
            );
            r.pair("x", &"9".repeat(60));
            let lines = text_lines(&r.cut());
            assert!(lines.len() > 5);
            for line in lines {
                assert!(line.len() <= width.columns(), "{width:?}: {line:?}");
            }
        }
    }

    #[test]
    fn pair_puts_the_right_text_flush_with_the_edge() {
        let mut r = Receipt::new(PaperWidth::Mm58, false);
        r.pair("TOTAL", "2.76");
        let lines = text_lines(&r.cut());
        let line = &lines[0];
        assert_eq!(line.len(), 32);
        assert!(line.starts_with("TOTAL") && line.ends_with("2.76"));
    }

    #[test]
    fn money_has_the_currency_decimals() {
        assert_eq!(money("2.5".parse().unwrap(), 2), "2.50");
        assert_eq!(money("2.555".parse().unwrap(), 2), "2.56");
        assert_eq!(money("7".parse().unwrap(), 0), "7");
        assert_eq!(money("1.2".parse().unwrap(), 3), "1.200");
    }

    #[test]
    fn other_characters_print_as_question_marks() {
        assert_eq!(printable("Café €5\tok"), "Caf? ?5 ok");
    }
}
