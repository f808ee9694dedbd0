//! `hrvault demo`: a throw-away vault for a newcomer, seeded through the same audited service
//! calls as real traffic (admin creates the users, hr onboards the employees).

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};

use super::CliError;
use super::serve::{clock, hasher, run_server};
use crate::api::ServeOptions;
use crate::config::Settings;
use crate::crypto::{KdfParams, generate_secret};
use crate::model::{AddressDraft, BankDraft, EmployeeDraft, Role};
use crate::service::{InitOptions, NewUser, RequestCtx, Vault};

const DEPARTMENTS: [&str; 5] = [
    "R&D",
    "Sales",
    "Executives",
    "IT Operations/InfoSec",
    "Support",
];
const FIRST: [&str; 12] = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Margaret",
];
const LAST: [&str; 12] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Hamilton",
];
const CITIES: [(&str, &str, &str); 5] = [
    ("Springfield", "IL", "62701"),
    ("Portland", "OR", "97201"),
    ("Austin", "TX", "73301"),
    ("Boston", "MA", "02108"),
    ("Denver", "CO", "80202"),
];

/// Non-cryptographic generator for synthetic records (xorshift64*).
struct Synth(u64);

impl Synth {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next(xs.len() as u64) as usize]
    }

    /// A valid-looking SSN: area 100–665, group 01–99, serial 0001–9999.
    fn ssn(&mut self) -> String {
        format!(
            "{:03}-{:02}-{:04}",
            100 + self.next(566),
            1 + self.next(99),
            1 + self.next(9999)
        )
    }

    /// Eight random digits and the ABA check digit.
    fn routing(&mut self) -> String {
        let d: Vec<u64> = (0..8).map(|_| self.next(10)).collect();
        let partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
        let check = (10 - partial % 10) % 10;
        d.iter()
            .chain(std::iter::once(&check))
            .map(|x| char::from(b'0' + *x as u8))
            .collect()
    }

    fn draft(&mut self, i: usize) -> EmployeeDraft {
        let (city, state, zip) = CITIES[self.next(CITIES.len() as u64) as usize];
        let first = self.pick(&FIRST);
        let last = self.pick(&LAST);
        let hire_year = 2015 + self.next(11);
        let mut d = EmployeeDraft::default();
        let fill = EmployeeDraftFields {
            employee_number: Some(format!("E{}", 10_001 + i)),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            work_email: Some(format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace('-', ""),
                i
            )),
            department: Some(self.pick(&DEPARTMENTS).into()),
            job_title: Some(
                self.pick(&["Engineer", "Analyst", "Manager", "Specialist", "Director"])
                    .into(),
            ),
            location: Some(city.into()),
            hire_date: Some(format!(
                "{hire_year}-{:02}-{:02}",
                1 + self.next(12),
                1 + self.next(28)
            )),
            status: Some(
                self.pick(&["active", "active", "active", "on_leave", "onboarding"])
                    .into(),
            ),
            ssn: Some(self.ssn()),
            date_of_birth: Some(format!(
                "{}-{:02}-{:02}",
                1960 + self.next(40),
                1 + self.next(12),
                1 + self.next(28)
            )),
        };
        let mut address = AddressDraft::default();
        address.line1 = Some(format!(
            "{} {} St",
            1 + self.next(9999),
            self.pick(&["Main", "Oak", "Maple", "Cedar", "Elm"])
        ));
        address.city = Some(city.into());
        address.state = Some(state.into());
        address.postal_code = Some(zip.into());
        address.country = Some("US".into());
        let mut bank = BankDraft::default();
        bank.routing_number = Some(self.routing());
        bank.account_number = Some(format!("{:012}", self.next(1_000_000_000_000)));
        fill.apply(&mut d);
        d.home_address = Some(address);
        d.bank_account = Some(bank);
        d
    }
}

/// The scalar fields of a synthetic draft (drafts zeroize on drop, so they cannot be built with
/// struct-update syntax).
struct EmployeeDraftFields {
    employee_number: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    work_email: Option<String>,
    department: Option<String>,
    job_title: Option<String>,
    location: Option<String>,
    hire_date: Option<String>,
    status: Option<String>,
    ssn: Option<String>,
    date_of_birth: Option<String>,
}

impl EmployeeDraftFields {
    fn apply(self, d: &mut EmployeeDraft) {
        d.employee_number = self.employee_number;
        d.first_name = self.first_name;
        d.last_name = self.last_name;
        d.work_email = self.work_email;
        d.department = self.department;
        d.job_title = self.job_title;
        d.location = self.location;
        d.hire_date = self.hire_date;
        d.status = self.status;
        d.ssn = self.ssn;
        d.date_of_birth = self.date_of_birth;
    }
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::usage(format!("error: demo setup failed: {e}"))
}

/// `hrvault demo [--listen ADDR]`.
pub(super) async fn demo(listen: SocketAddr) -> Result<(), CliError> {
    if !listen.ip().is_loopback() {
        return Err(CliError::usage(format!(
            "error: demo serves plain HTTP, which is refused on {listen}, a non-loopback \
             address; listen on 127.0.0.1, or run `hrvault serve` with TLS (--tls-cert/--tls-key)"
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix("hrvault-demo-")
        .tempdir()
        .map_err(err)?;
    let dir = tmp.path().join("vault");
    let passphrase = generate_secret().map_err(err)?;
    let admin_pw = generate_secret().map_err(err)?;
    let kdf = KdfParams::recommended().map_err(err)?;
    let opts = InitOptions {
        passphrase: SecretString::from(passphrase.expose_secret().to_owned()),
        admin_password: Some(SecretString::from(admin_pw.expose_secret().to_owned())),
        kdf,
        hasher: hasher()?,
    };
    Vault::init(&dir, opts, clock()).await?;
    let vault = Vault::open(&dir, &passphrase, Settings::default(), clock(), hasher()?).await?;
    let ctx = RequestCtx {
        request_id: Some("demo-seed".into()),
        client_request_id: None,
        source_ip: None,
    };

    let admin = vault.principal_named("admin").map_err(err)?;
    let mut lines = vec![format!(
        "role=admin username=admin password={}",
        admin_pw.expose_secret()
    )];
    for role in [Role::Hr, Role::Payroll, Role::Auditor, Role::Security] {
        let password = generate_secret().map_err(err)?;
        let req = NewUser {
            username: Some(role.as_str().to_owned()),
            password: Some(password.expose_secret().to_owned()),
            role: Some(role.as_str().to_owned()),
            employee_id: None,
            kind: None,
        };
        vault
            .create_user(&admin, &ctx, Ok(req))
            .await
            .map_err(err)?;
        lines.push(format!(
            "role={role} username={role} password={}",
            password.expose_secret()
        ));
    }

    let hr = vault.principal_named("hr").map_err(err)?;
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(err)?;
    let mut synth = Synth(u64::from_le_bytes(seed) | 1);
    for i in 0..25 {
        vault
            .create_employee(&hr, &ctx, Ok(synth.draft(i)), Ok(None))
            .await
            .map_err(err)?;
    }

    eprintln!(
        "demo vault in {} (deleted on exit); 25 synthetic employees; users:",
        dir.display()
    );
    for line in &lines {
        println!("{line}");
    }
    let opts = ServeOptions::new(&vault.settings().server);
    let result = run_server(vault, listen, opts).await;
    drop(tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NewEmployee;

    #[test]
    fn synthetic_records_are_valid() {
        let mut s = Synth(0x1234_5678_9abc_def1);
        for i in 0..500 {
            let d = s.draft(i);
            assert!(NewEmployee::parse(&d).is_ok(), "row {i}");
        }
    }
}
