"""String formats as GBNF over the string's content (all ASCII, so no escaping applies)."""

TWO_DIGIT_HOUR = '([01] [0-9] | "2" [0-3])'
MINUTE = "[0-5] [0-9]"
# RFC 3339 full-date, exact: 30-day months, and 29 February in leap years only.
DAY28 = '("0" [1-9] | "1" [0-9] | "2" [0-8])'
FOURS = '("0" [48] | [2468] [048] | [13579] [26])'  # two-digit multiples of 4, but 00
LEAP = f'([0-9] [0-9] {FOURS} | ({FOURS} | "00") "00")'
DATE = (
    f'([0-9]{{4}} "-" (("0" [13578] | "1" [02]) "-" ({DAY28} | "29" | "3" [01])'
    f' | ("0" [469] | "11") "-" ({DAY28} | "29" | "30") | "02-" {DAY28})'
    f' | {LEAP} "-02-29")'
)
OFFSET = f'([Zz] | [+-] {TWO_DIGIT_HOUR} ":" {MINUTE})'
TIME = f'{TWO_DIGIT_HOUR} ":" {MINUTE} ":" ({MINUTE} | "60") ("." [0-9]{{1,9}})? {OFFSET}'
HEX = "[0-9a-fA-F]"
LABEL = "[a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])?"
OCTET = '("25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9])'

FORMATS: dict[str, str] = {
    "date": DATE,
    "time": TIME,
    "date-time": f"{DATE} [Tt] {TIME}",
    "uuid": f'{HEX}{{8}} "-" {HEX}{{4}} "-" {HEX}{{4}} "-" {HEX}{{4}} "-" {HEX}{{12}}',
    "hostname": f'{LABEL} ("." {LABEL}){{0,9}}',
    "ipv4": f'{OCTET} "." {OCTET} "." {OCTET} "." {OCTET}',
    "email": f'[a-zA-Z0-9!#$%&\'*+=?^_`{{|}}~.-]{{1,64}} "@" {LABEL} ("." {LABEL}){{0,9}}',
    "uri": '[a-zA-Z] [a-zA-Z0-9+.-]{0,31} ":" [^ "\\\\<>{}|^`\\x00-\\x1F\\x7F]{0,CAP}',
}
# CAP is replaced by the configured string cap.
