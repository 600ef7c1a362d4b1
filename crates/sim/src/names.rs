//! Realistic account names: `first.last@domain`, unique, with the collisions real directories
//! have (`john.smith2`, `j.a.smith`), plus a few shared role mailboxes, and the names attackers
//! guess that do not exist (former staff, generic `admin`, `test`).

use rand::RngExt;
use rand::seq::IndexedRandom;
use std::collections::HashSet;

const FIRST: &[&str] = &[
    "james",
    "john",
    "robert",
    "michael",
    "william",
    "david",
    "richard",
    "joseph",
    "thomas",
    "charles",
    "christopher",
    "daniel",
    "matthew",
    "anthony",
    "mark",
    "donald",
    "steven",
    "paul",
    "andrew",
    "joshua",
    "kenneth",
    "kevin",
    "brian",
    "george",
    "timothy",
    "ronald",
    "edward",
    "jason",
    "jeffrey",
    "ryan",
    "jacob",
    "gary",
    "nicholas",
    "eric",
    "jonathan",
    "stephen",
    "larry",
    "justin",
    "scott",
    "brandon",
    "benjamin",
    "samuel",
    "gregory",
    "alexander",
    "patrick",
    "frank",
    "raymond",
    "jack",
    "dennis",
    "jerry",
    "tyler",
    "aaron",
    "jose",
    "adam",
    "nathan",
    "henry",
    "peter",
    "zachary",
    "douglas",
    "harold",
    "oliver",
    "harry",
    "charlie",
    "alfie",
    "freddie",
    "arthur",
    "noah",
    "leo",
    "oscar",
    "archie",
    "mohammed",
    "ali",
    "omar",
    "rajesh",
    "amit",
    "sanjay",
    "wei",
    "jun",
    "hiroshi",
    "lukas",
    "mary",
    "patricia",
    "jennifer",
    "linda",
    "elizabeth",
    "barbara",
    "susan",
    "jessica",
    "sarah",
    "karen",
    "lisa",
    "nancy",
    "betty",
    "margaret",
    "sandra",
    "ashley",
    "kimberly",
    "emily",
    "donna",
    "michelle",
    "carol",
    "amanda",
    "dorothy",
    "melissa",
    "deborah",
    "stephanie",
    "rebecca",
    "sharon",
    "laura",
    "cynthia",
    "kathleen",
    "amy",
    "angela",
    "shirley",
    "anna",
    "brenda",
    "pamela",
    "emma",
    "nicole",
    "helen",
    "samantha",
    "katherine",
    "christine",
    "debra",
    "rachel",
    "carolyn",
    "janet",
    "catherine",
    "maria",
    "heather",
    "diane",
    "ruth",
    "julie",
    "olivia",
    "joyce",
    "victoria",
    "kelly",
    "christina",
    "lauren",
    "joan",
    "evelyn",
    "judith",
    "megan",
    "cheryl",
    "andrea",
    "hannah",
    "martha",
    "jacqueline",
    "frances",
    "gloria",
    "ann",
    "teresa",
    "kathryn",
    "sara",
    "janice",
    "jean",
    "alice",
    "madison",
    "doris",
    "abigail",
    "julia",
    "judy",
    "grace",
    "denise",
    "amber",
    "marilyn",
    "beverly",
    "danielle",
    "theresa",
    "sophie",
    "charlotte",
    "isla",
    "amelia",
    "ava",
    "mia",
    "isabella",
    "poppy",
    "ella",
    "lily",
    "fatima",
    "aisha",
    "priya",
    "anjali",
    "mei",
    "yuki",
    "ingrid",
    "siobhan",
    "niamh",
    "aoife",
    "bronwen",
    "rhian",
    "eilidh",
];

const LAST: &[&str] = &[
    "smith",
    "jones",
    "williams",
    "taylor",
    "brown",
    "davies",
    "evans",
    "wilson",
    "thomas",
    "johnson",
    "roberts",
    "robinson",
    "thompson",
    "wright",
    "walker",
    "white",
    "edwards",
    "hughes",
    "green",
    "hall",
    "lewis",
    "harris",
    "clarke",
    "patel",
    "jackson",
    "wood",
    "turner",
    "martin",
    "cooper",
    "hill",
    "ward",
    "morris",
    "moore",
    "clark",
    "lee",
    "king",
    "baker",
    "harrison",
    "morgan",
    "allen",
    "james",
    "scott",
    "phillips",
    "watson",
    "davis",
    "parker",
    "price",
    "bennett",
    "young",
    "griffiths",
    "mitchell",
    "kelly",
    "cook",
    "carter",
    "richardson",
    "bailey",
    "collins",
    "bell",
    "shaw",
    "murphy",
    "miller",
    "cox",
    "richards",
    "khan",
    "marshall",
    "anderson",
    "simpson",
    "ellis",
    "adams",
    "singh",
    "begum",
    "wilkinson",
    "foster",
    "chapman",
    "powell",
    "webb",
    "rogers",
    "gray",
    "mason",
    "ali",
    "hunt",
    "hussain",
    "campbell",
    "matthews",
    "owen",
    "palmer",
    "holmes",
    "mills",
    "barnes",
    "knight",
    "lloyd",
    "butler",
    "russell",
    "barker",
    "fisher",
    "stevens",
    "jenkins",
    "murray",
    "dixon",
    "harvey",
    "graham",
    "pearson",
    "ahmed",
    "fletcher",
    "walsh",
    "kaur",
    "gibson",
    "howard",
    "andrews",
    "stewart",
    "elliott",
    "reynolds",
    "saunders",
    "payne",
    "fox",
    "ford",
    "pearce",
    "day",
    "brooks",
    "west",
    "lawrence",
    "cole",
    "atkinson",
    "bradley",
    "spencer",
    "gill",
    "dawson",
    "ball",
    "burton",
    "obrien",
    "watts",
    "rose",
    "booth",
    "perry",
    "ryan",
    "grant",
    "wells",
    "armstrong",
    "francis",
    "rees",
    "hayes",
    "hart",
    "hudson",
    "newman",
    "barrett",
    "webster",
    "hunter",
    "gregory",
    "carr",
    "lowe",
    "page",
    "marsh",
    "riley",
    "dunn",
    "woods",
    "parsons",
    "berry",
    "stone",
    "reid",
    "holland",
    "hawkins",
    "harding",
    "porter",
    "robertson",
    "newton",
    "oconnor",
    "bates",
    "burns",
    "chambers",
    "lambert",
    "nguyen",
    "chen",
    "wang",
    "zhang",
    "kumar",
    "sharma",
    "nowak",
    "kowalski",
    "schmidt",
    "muller",
    "rossi",
    "garcia",
    "fernandez",
    "lopez",
    "silva",
    "santos",
    "costa",
    "oliveira",
    "macdonald",
    "mackenzie",
    "fraser",
    "sinclair",
    "maclean",
];

/// Shared role mailboxes that many organisations have; they exist and are real accounts.
pub const ROLE_MAILBOXES: &[&str] = &["info", "office", "admin", "press", "hr", "finance"];

/// Names attackers try that do not exist here.
const GUESSED: &[&str] = &[
    "test",
    "root",
    "postmaster",
    "webmaster",
    "support",
    "sales",
    "contact",
    "user",
    "guest",
    "backup",
    "noreply",
    "mail",
    "it",
    "helpdesk",
    "security",
    "marketing",
    "jobs",
    "abuse",
];

/// `n` unique, realistic account names in `domain`, deterministic for the RNG's state. The first
/// names are the role mailboxes (when `n` is large enough), then people.
pub fn account_names(rng: &mut impl rand::Rng, n: usize, domain: &str) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    let roles = if n >= 50 { ROLE_MAILBOXES.len() } else { 0 };
    for r in &ROLE_MAILBOXES[..roles] {
        let name = format!("{r}@{domain}");
        seen.insert(name.clone());
        out.push(name);
    }
    while out.len() < n {
        let f = FIRST.choose(rng).copied().unwrap_or("alex");
        let l = LAST.choose(rng).copied().unwrap_or("smith");
        let mut local = match rng.random_range(0..20u8) {
            0 => format!("{}.{}", &f[..1], l),
            1 => format!("{}.{}.{}", f, (b'a' + rng.random_range(0..26u8)) as char, l),
            _ => format!("{f}.{l}"),
        };
        let mut k = 2;
        while seen.contains(&format!("{local}@{domain}")) {
            local = match local.rfind(|c: char| !c.is_ascii_digit()) {
                Some(i) => format!("{}{k}", &local[..=i]),
                None => format!("{local}{k}"),
            };
            k += 1;
        }
        let name = format!("{local}@{domain}");
        seen.insert(name.clone());
        out.push(name);
    }
    out
}

/// `n` names in `domain` that are not in `existing`: generic guesses, then plausible people who
/// do not (or no longer) work here. Deterministic for the RNG's state.
pub fn unknown_names(
    rng: &mut impl rand::Rng,
    n: usize,
    domain: &str,
    existing: &HashSet<&str>,
) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for g in GUESSED {
        if out.len() >= n {
            return out;
        }
        let name = format!("{g}@{domain}");
        if !existing.contains(name.as_str()) && seen.insert(name.clone()) {
            out.push(name);
        }
    }
    let mut tries = 0usize;
    while out.len() < n && tries < n * 50 + 1000 {
        tries += 1;
        let f = FIRST.choose(rng).copied().unwrap_or("alex");
        let l = LAST.choose(rng).copied().unwrap_or("smith");
        let name = match rng.random_range(0..4u8) {
            0 => format!("{}{}@{domain}", &f[..1], l),
            1 => format!("{l}.{f}@{domain}"),
            2 => format!("{f}.{l}{}@{domain}", rng.random_range(1..100u8)),
            _ => format!("{f}.{l}@{domain}"),
        };
        if !existing.contains(name.as_str()) && seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// A typo of an account name (one letter of the local part dropped or doubled), as a person
/// types it on a new device.
pub fn typo_of(rng: &mut impl rand::Rng, name: &str) -> String {
    let (local, domain) = name.split_once('@').unwrap_or((name, ""));
    let chars: Vec<char> = local.chars().collect();
    if chars.len() < 2 {
        return format!("{local}{local}@{domain}");
    }
    let i = rng.random_range(0..chars.len());
    let mut s: String = if rng.random_bool(0.5) {
        chars
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, c)| c)
            .collect()
    } else {
        let mut v = chars.clone();
        v.insert(i, chars[i]);
        v.into_iter().collect()
    };
    if !domain.is_empty() {
        s.push('@');
        s.push_str(domain);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn names_are_unique_and_shaped_like_mailboxes() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let names = account_names(&mut rng, 20_000, "example.org");
        assert_eq!(names.len(), 20_000);
        let set: HashSet<&str> = names.iter().map(|s| s.as_str()).collect();
        assert_eq!(set.len(), 20_000);
        assert_eq!(names[0], "info@example.org");
        for n in &names {
            let (l, d) = n.split_once('@').unwrap();
            assert_eq!(d, "example.org");
            assert!(
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'),
                "{n}"
            );
        }
        let unknown = unknown_names(&mut rng, 500, "example.org", &set);
        assert_eq!(unknown.len(), 500);
        assert!(unknown.iter().all(|u| !set.contains(u.as_str())));
    }

    #[test]
    fn typos_differ_from_the_name() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let t = typo_of(&mut rng, "alice.smith@example.org");
            assert_ne!(t, "alice.smith@example.org");
            assert!(t.ends_with("@example.org"));
        }
    }
}
