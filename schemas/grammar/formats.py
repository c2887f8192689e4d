"""String formats as GBNF over the string's content (all ASCII, so no escaping applies)."""

TWO_DIGIT_HOUR = '([01] [0-9] | "2" [0-3])'
MINUTE = "[0-5] [0-9]"
DATE = '[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01])'
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
