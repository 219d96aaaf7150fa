package dav

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// Cards as the servers and clients write them.
var (
	// iCloud (an iPhone's contact): groups with labels, type= repeated,
	// a folded PHOTO, Apple's X- properties.
	appleCard = obj(`
BEGIN:VCARD
VERSION:3.0
PRODID:-//Apple Inc.//iPhone OS 17.2//EN
N:Appleseed;Johnny;Q.;Dr.;Jr.
FN:Dr. Johnny Q. Appleseed Jr.
ORG:Apple Inc.;Engineering;
TITLE:Engineer\, Senior
item1.EMAIL;type=INTERNET;type=WORK;type=pref:johnny@apple.example
EMAIL;type=INTERNET;type=HOME:j.appleseed@home.example
item2.EMAIL;type=INTERNET:johnny@club.example
item2.X-ABLabel:Club
TEL;type=CELL;type=VOICE;type=pref:+1 (408) 555-0100
TEL;type=WORK;type=VOICE:+1 408 555 0101
item3.TEL:+1 408 555 0199
item3.X-ABLabel:Lab
item4.ADR;type=HOME;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;United States
item4.X-ABADR:us
BDAY;value=date:1984-01-24
NOTE:Met at WWDC.\nLikes apples\; and pears.
PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U
 HRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwh
CATEGORIES:friends,apple
X-SOCIALPROFILE;type=twitter:https://twitter.com/johnny
X-FOO;X-PARAM=1:bar
REV:2024-01-15T10:20:30Z
UID:5E0A4D5C-8A1B-4C3D-9E8F-0A1B2C3D4E5F
END:VCARD
`)
	appleFields = reconcile.Fields{
		reconcile.FieldGivenName: "Johnny", reconcile.FieldMiddleName: "Q.", reconcile.FieldFamilyName: "Appleseed",
		reconcile.FieldName: "Dr. Johnny Q. Appleseed Jr.", reconcile.FieldJobTitle: "Engineer, Senior",
		reconcile.FieldEmails:  "johnny@apple.example|work|primary\nj.appleseed@home.example|home|\njohnny@club.example|other|",
		reconcile.FieldPhones:  "+1 (408) 555-0100|mobile|primary\n+1 408 555 0101|work|\n+1 408 555 0199|other|",
		reconcile.FieldNotes:   "Met at WWDC.\nLikes apples; and pears.",
		reconcile.FieldCompany: "Apple Inc.", reconcile.FieldBirthday: "1984-01-24",
		reconcile.FieldAddresses: "1 Infinite Loop|Cupertino|CA|95014|United States|home|primary",
		reconcile.FieldPhoto: photoField("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U" +
			"HRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwh"),
		reconcile.FieldCategories: "apple\nfriends",
	}

	// Nextcloud (sabre/vobject): quoted TYPE lists, Cyrillic.
	nextcloudCard = obj(`
BEGIN:VCARD
VERSION:3.0
PRODID:-//Sabre//Sabre VObject 4.5.4//EN
UID:b8f9c2e0-1234-4a5b-9c8d-112233445566
FN:Ирина Петрова
N:Петрова;Ирина;Сергеевна;;
ADR;TYPE=WORK:;;ул. Тверская\, 1;Москва;;125009;Россия
EMAIL;TYPE=WORK:irina@example.ru
EMAIL;TYPE=HOME:irina.p@mail.example
TEL;TYPE="WORK,VOICE":+7 495 123-45-67
TEL;TYPE=CELL:+7 916 000-00-00
ORG:ООО «Ромашка»
TITLE:Главный бухгалтер
REV;VALUE=DATE-AND-OR-TIME:20240301T101500Z
END:VCARD
`)
	nextcloudFields = reconcile.Fields{
		reconcile.FieldGivenName: "Ирина", reconcile.FieldMiddleName: "Сергеевна", reconcile.FieldFamilyName: "Петрова",
		reconcile.FieldName: "Ирина Петрова", reconcile.FieldJobTitle: "Главный бухгалтер",
		reconcile.FieldEmails:    "irina@example.ru|work|primary\nirina.p@mail.example|home|",
		reconcile.FieldPhones:    "+7 495 123-45-67|work|primary\n+7 916 000-00-00|mobile|",
		reconcile.FieldCompany:   "ООО «Ромашка»",
		reconcile.FieldAddresses: "ул. Тверская, 1|Москва||125009|Россия|work|primary",
	}

	// Thunderbird's address book on Radicale: vCard 4.0, PREF=1,
	// VALUE=TEXT phones.
	thunderbirdCard = obj(`
BEGIN:VCARD
VERSION:4.0
EMAIL;PREF=1:anna@example.org
EMAIL;TYPE=work:anna.work@example.com
FN:Anna Schmidt
N:Schmidt;Anna;;;
TEL;TYPE=cell;VALUE=TEXT:+49 170 1234567
TEL;TYPE=work;VALUE=TEXT:+49 30 1234567
NOTE:Line one\nLine two
UID:0d8d1b3a-9f2e-4c5b-a1d7-5b3c2e1f0a9b
X-MOZILLA-HTML:FALSE
END:VCARD
`)
	thunderbirdFields = reconcile.Fields{
		reconcile.FieldGivenName: "Anna", reconcile.FieldFamilyName: "Schmidt", reconcile.FieldName: "Anna Schmidt",
		reconcile.FieldEmails: "anna@example.org|other|primary\nanna.work@example.com|work|",
		reconcile.FieldPhones: "+49 170 1234567|mobile|primary\n+49 30 1234567|work|",
		reconcile.FieldNotes:  "Line one\nLine two",
	}

	// vCard 4.0 of RFC 6350's examples: tel: URIs, PREF on the second one.
	rfc6350Card = obj(`
BEGIN:VCARD
VERSION:4.0
FN:Simon Perreault
N:Perreault;Simon;;;ing. jr,M.Sc.
BDAY:--0203
ANNIVERSARY:20090808T1430-0500
GENDER:M
LANG;PREF=1:fr
LANG;PREF=2:en
ORG;TYPE=work:Viagenie
ADR;TYPE=work:;Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada
TEL;VALUE=uri;TYPE="work,voice";PREF=2:tel:+1-418-656-9254;ext=102
TEL;VALUE=uri;TYPE="work,cell,voice,video,text";PREF=1:tel:+1-418-262-6501
EMAIL;TYPE=work:simon.perreault@viagenie.ca
GEO;TYPE=work:geo:46.772673,-71.282945
KEY;TYPE=work;VALUE=uri:http://www.viagenie.ca/simon.perreault/simon.asc
TZ:-0500
URL;TYPE=home:http://nomis80.org
UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1
END:VCARD
`)
	rfc6350Fields = reconcile.Fields{
		reconcile.FieldGivenName: "Simon", reconcile.FieldFamilyName: "Perreault", reconcile.FieldName: "Simon Perreault",
		reconcile.FieldEmails:  "simon.perreault@viagenie.ca|work|primary",
		reconcile.FieldPhones:  "+1-418-262-6501|mobile|primary\n+1-418-656-9254;ext=102|work|",
		reconcile.FieldCompany: "Viagenie", reconcile.FieldBirthday: "--02-03",
		reconcile.FieldAddresses: "2875 Laurier|Quebec|QC|G1V 2M2|Canada|work|primary",
	}

	// vCard 2.1 as old phones export it: bare types, quoted-printable.
	card21 = obj(`
BEGIN:VCARD
VERSION:2.1
N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD=D0=BE=D0=B2;=D0=98=D0=B2=D0=B0=D0=BD;;;
FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD =D0=98=D0=B2=D0=B0=D0=BD=D0=BE=
=D0=B2
TEL;CELL;PREF:+79160000001
TEL;HOME:+74950000002
EMAIL;INTERNET;WORK:ivan@example.ru
END:VCARD
`)
	card21Fields = reconcile.Fields{
		reconcile.FieldGivenName: "Иван", reconcile.FieldFamilyName: "Иванов", reconcile.FieldName: "Иван Иванов",
		reconcile.FieldEmails: "ivan@example.ru|work|primary",
		reconcile.FieldPhones: "+79160000001|mobile|primary\n+74950000002|home|",
	}
)

func TestVCardDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     []byte
		uid     string
		fields  reconcile.Fields
		rev     time.Time
		warning string
	}{
		{"apple", appleCard, "5E0A4D5C-8A1B-4C3D-9E8F-0A1B2C3D4E5F", appleFields, time.Date(2024, 1, 15, 10, 20, 30, 0, time.UTC), ""},
		{"nextcloud", nextcloudCard, "b8f9c2e0-1234-4a5b-9c8d-112233445566", nextcloudFields, time.Date(2024, 3, 1, 10, 15, 0, 0, time.UTC), ""},
		{"thunderbird 4.0", thunderbirdCard, "0d8d1b3a-9f2e-4c5b-a1d7-5b3c2e1f0a9b", thunderbirdFields, time.Time{}, ""},
		{"rfc 6350", rfc6350Card, "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", rfc6350Fields, time.Time{}, ""},
		{"2.1 quoted-printable", card21, "", card21Fields, time.Time{}, "vcard 2.1 read leniently"},
		{"no uid", obj("BEGIN:VCARD\nVERSION:3.0\nFN:Nobody\nEND:VCARD\n"), "", reconcile.Fields{reconcile.FieldName: "Nobody"}, time.Time{}, ""},
		{"lf line ends, no version", []byte("BEGIN:VCARD\nFN:Lf\nUID:1\nEND:VCARD\n"), "1", reconcile.Fields{reconcile.FieldName: "Lf"}, time.Time{}, `vcard version "" read as 3.0`},
		{"invalid utf-8", obj("BEGIN:VCARD\nVERSION:3.0\nUID:u\nFN:Bad \xff byte\nEND:VCARD\n"), "u",
			reconcile.Fields{reconcile.FieldName: "Bad \uFFFD byte"}, time.Time{}, "invalid utf-8 replaced"},
		{"marker, byte order mark", append([]byte("\xef\xbb\xbf"), obj("BEGIN:VCARD\nVERSION:3.0\nUID:m\nFN:M\nX-TANDEM-MARKER:mk-1\nEND:VCARD\n")...), "m",
			reconcile.Fields{reconcile.FieldName: "M"}, time.Time{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := VCardCodec{}.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if d.UID != tc.uid {
				t.Errorf("uid %q, want %q", d.UID, tc.uid)
			}
			sameFields(t, "decode", d.Fields, tc.fields)
			if !d.Modified.Equal(tc.rev) {
				t.Errorf("modified %v, want %v", d.Modified, tc.rev)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(d.Warnings, "; "), tc.warning) {
				t.Errorf("warnings %q, want %q", d.Warnings, tc.warning)
			}
			if tc.warning == "" && len(d.Warnings) > 0 {
				t.Errorf("warnings %q", d.Warnings)
			}
			if strings.Contains(tc.name, "marker") && d.Marker != "mk-1" {
				t.Errorf("marker %q", d.Marker)
			}
			// Nothing changed: the very same bytes.
			out, err := VCardCodec{Now: clock}.Encode(tc.raw, d.Fields, d.UID, d.Marker)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(tc.raw) {
				t.Errorf("round trip changed the card:\n%s", out)
			}
		})
	}
}

func TestVCardPatch(t *testing.T) {
	c := VCardCodec{Now: clock}
	for _, tc := range []struct {
		name  string
		raw   []byte
		f     reconcile.Fields
		props []string // the only properties whose lines may differ (REV always may)
		check func(t *testing.T, out string)
	}{
		{"given name", appleCard, with(appleFields, reconcile.FieldGivenName, "John"), []string{"N"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "\r\nN:Appleseed;John;Q.;Dr.;Jr.\r\n") {
				t.Error("N lost its prefix or suffix")
			}
		}},
		{"names cleared, name kept", nextcloudCard, with(nextcloudFields, reconcile.FieldGivenName, "", reconcile.FieldMiddleName, "",
			reconcile.FieldFamilyName, ""), []string{"N"}, nil},
		{"display name", appleCard, with(appleFields, reconcile.FieldName, "Johnny"), []string{"FN"}, nil},
		{"job title with commas", nextcloudCard, with(nextcloudFields, reconcile.FieldJobTitle, "CFO, Finance; Audit"), []string{"TITLE"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, `TITLE:CFO\, Finance\; Audit`) {
					t.Error("title not escaped")
				}
			}},
		{"title removed", appleCard, with(appleFields, reconcile.FieldJobTitle, ""), []string{"TITLE"}, nil},
		{"note added", thunderbirdCard, with(thunderbirdFields, reconcile.FieldNotes, strings.Repeat("Длинная заметка, ", 12)), []string{"NOTE"}, nil},
		{"email added", appleCard, with(appleFields, reconcile.FieldEmails, appleFields[reconcile.FieldEmails]+"\nnew@example.com|work|"),
			[]string{"EMAIL"}, func(t *testing.T, out string) {
				if !strings.Contains(out, "item1.EMAIL;type=INTERNET;type=WORK;type=pref:johnny@apple.example\r\n") {
					t.Error("an untouched email was rewritten")
				}
			}},
		{"labelled email removed", appleCard, with(appleFields, reconcile.FieldEmails,
			"johnny@apple.example|work|primary\nj.appleseed@home.example|home|"), []string{"EMAIL", "X-ABLABEL"}, func(t *testing.T, out string) {
			if strings.Contains(out, "item2.") {
				t.Error("the removed email's label stayed")
			}
			if !strings.Contains(out, "item3.X-ABLabel:Lab") {
				t.Error("another group's label went")
			}
		}},
		{"email address edited keeps its group", appleCard, with(appleFields, reconcile.FieldEmails,
			"johnny@apple.example|work|primary\nj.appleseed@home.example|home|\njohnny@golf.example|other|"), []string{"EMAIL"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "item2.EMAIL;type=INTERNET:johnny@golf.example\r\n") || !strings.Contains(out, "item2.X-ABLabel:Club") {
					t.Error("the edited email lost its group, label or parameters")
				}
			}},
		{"primary email moved", appleCard, with(appleFields, reconcile.FieldEmails,
			"j.appleseed@home.example|home|primary\njohnny@apple.example|work|\njohnny@club.example|other|"), []string{"EMAIL"}, nil},
		{"primary on 4.0", thunderbirdCard, with(thunderbirdFields, reconcile.FieldEmails,
			"anna.work@example.com|work|primary\nanna@example.org|other|"), []string{"EMAIL"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "EMAIL;TYPE=work;PREF=1:anna.work@example.com") {
				t.Error("4.0 primary not written as PREF=1")
			}
		}},
		{"emails reordered", nextcloudCard, with(nextcloudFields, reconcile.FieldEmails, "irina.p@mail.example|home|primary\nirina@example.ru|work|"),
			[]string{"EMAIL"}, nil},
		{"phone kind", appleCard, with(appleFields, reconcile.FieldPhones,
			"+1 (408) 555-0100|mobile|primary\n+1 408 555 0101|home|\n+1 408 555 0199|other|"), []string{"TEL"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "TEL;TYPE=voice,home:+1 408 555 0101") {
				t.Error("kind change did not keep VOICE")
			}
		}},
		{"phones cleared", nextcloudCard, with(nextcloudFields, reconcile.FieldPhones, ""), []string{"TEL"}, nil},
		{"tel uri edited", rfc6350Card, with(rfc6350Fields, reconcile.FieldPhones, "+1-418-262-6502|mobile|primary\n+1-418-656-9254;ext=102|work|"),
			[]string{"TEL"}, nil},
		{"2.1 name", card21, with(card21Fields, reconcile.FieldFamilyName, "Петров"), []string{"N"}, nil},
		{"company keeps the units", appleCard, with(appleFields, reconcile.FieldCompany, "Apple Europe; Ltd"), []string{"ORG"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nORG:Apple Europe\\; Ltd;Engineering;\r\n") {
					t.Error("ORG not patched in its first component")
				}
			}},
		{"company cleared, units stay", appleCard, with(appleFields, reconcile.FieldCompany, ""), []string{"ORG"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nORG:;Engineering;\r\n") {
					t.Error("the units went with the company")
				}
			}},
		{"company cleared", nextcloudCard, with(nextcloudFields, reconcile.FieldCompany, ""), []string{"ORG"}, nil},
		{"company added", thunderbirdCard, with(thunderbirdFields, reconcile.FieldCompany, "Mozilla, Berlin"), []string{"ORG"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nORG:Mozilla\\, Berlin\r\n") {
					t.Error("ORG not added")
				}
			}},
		{"birthday on 3.0", appleCard, with(appleFields, reconcile.FieldBirthday, "1984-02-29"), []string{"BDAY"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nBDAY:1984-02-29\r\n") {
					t.Error("BDAY not in 3.0's date form")
				}
			}},
		{"birthday without a year on 3.0", appleCard, with(appleFields, reconcile.FieldBirthday, "--01-24"), []string{"BDAY"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nBDAY;X-APPLE-OMIT-YEAR=1604:1604-01-24\r\n") {
					t.Error("BDAY without a year not in Apple's form")
				}
			}},
		{"birthday gets a year on 4.0", rfc6350Card, with(rfc6350Fields, reconcile.FieldBirthday, "1980-02-03"), []string{"BDAY"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nBDAY:19800203\r\n") {
					t.Error("BDAY not in 4.0's basic form")
				}
			}},
		{"birthday added on 4.0", thunderbirdCard, with(thunderbirdFields, reconcile.FieldBirthday, "--12-31"), []string{"BDAY"},
			func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nBDAY:--1231\r\n") {
					t.Error("BDAY not added")
				}
			}},
		{"birthday removed", appleCard, with(appleFields, reconcile.FieldBirthday, ""), []string{"BDAY"}, nil},
		{"address edited keeps its group, PO box and parts as written", rfc6350Card, with(rfc6350Fields, reconcile.FieldAddresses,
			"2875 Laurier|Montréal|QC|G1V 2M2|Canada|work|primary"), []string{"ADR"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "\r\nADR;TYPE=work:;Suite D2-630;2875 Laurier;Montréal;QC;G1V 2M2;Canada\r\n") {
				t.Error("ADR not patched in its locality only")
			}
		}},
		{"labelled address edited", appleCard, with(appleFields, reconcile.FieldAddresses,
			"1 Apple Park Way|Cupertino|CA|95014|United States|home|primary"), []string{"ADR"}, func(t *testing.T, out string) {
			if !strings.Contains(out, "\r\nitem4.ADR;type=HOME;type=pref:;;1 Apple Park Way;Cupertino;CA;95014;United States\r\nitem4.X-ABADR:us\r\n") {
				t.Error("the edited address lost its group, parameters or Apple's country")
			}
		}},
		{"labelled address removed", appleCard, with(appleFields, reconcile.FieldAddresses, ""), []string{"ADR", "X-ABADR"},
			func(t *testing.T, out string) {
				if strings.Contains(out, "item4.") {
					t.Error("the removed address's group stayed")
				}
			}},
		{"address kind and a second address", nextcloudCard, with(nextcloudFields, reconcile.FieldAddresses,
			"ул. Тверская, 1|Москва||125009|Россия|home|primary\n"+`Невский пр., 28\nофис 5|Санкт-Петербург|||Россия|work|`),
			[]string{"ADR"}, func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nADR;TYPE=home,pref:;;ул. Тверская\\, 1;Москва;;125009;Россия\r\n") ||
					!strings.Contains(out, "\r\nADR;TYPE=work:;;Невский пр.\\, 28\\nофис 5;Санкт-Петербург;;;Россия\r\n") {
					t.Error("addresses not written as expected")
				}
			}},
		{"address added on 4.0", thunderbirdCard, with(thunderbirdFields, reconcile.FieldAddresses, "|Berlin|||Germany|home|primary"),
			[]string{"ADR"}, func(t *testing.T, out string) {
				if !strings.Contains(out, "\r\nADR;TYPE=home;PREF=1:;;;Berlin;;;Germany\r\n") {
					t.Error("ADR not added")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := patched(t, c, tc.raw, tc.f, []string{"REV"}, tc.props)
			for _, n := range changedNames(tc.raw, out) {
				if n != "REV" && !contains(tc.props, n) {
					t.Errorf("%s lines changed", n)
				}
			}
			if strings.Contains(string(tc.raw), "\nREV") && !strings.Contains(string(out), "REV:20260301T090000Z") {
				t.Error("REV not stamped")
			}
			for _, l := range logical(out) {
				if !strings.Contains(string(tc.raw), l) {
					checkWellFormed(t, []byte(l))
				}
			}
			if tc.check != nil {
				tc.check(t, strings.ReplaceAll(string(out), "\r\n ", ""))
			}
		})
	}
}

// TestVCardBirthday: the forms of BDAY that hold a day of a month read as
// a birthday; others read as none and stay as written.
func TestVCardBirthday(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"BDAY:1985-04-12", "1985-04-12"},
		{"BDAY;VALUE=date:19850412", "1985-04-12"},
		{"BDAY:1985-04-12T10:00:00Z", "1985-04-12"},
		{"BDAY:19850412T100000", "1985-04-12"},
		{"BDAY:--0412", "--04-12"},
		{"BDAY:--04-12", "--04-12"},
		{"BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12", "--04-12"},
		{"BDAY;X-APPLE-OMIT-YEAR=1604:1985-04-12", "1985-04-12"},
		{"BDAY:--0229", "--02-29"},
		{"BDAY:1985-02-29", ""},
		{"BDAY:1985", ""},
		{"BDAY:---12", ""},
		{"BDAY;VALUE=text:circa 1800", ""},
		{"BDAY:tomorrow", ""},
	} {
		raw := obj("BEGIN:VCARD\nVERSION:4.0\nUID:b\nFN:B\n" + tc.line + "\nEND:VCARD\n")
		d, err := VCardCodec{}.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Fields[reconcile.FieldBirthday]; got != tc.want {
			t.Errorf("%s: birthday %q, want %q", tc.line, got, tc.want)
		}
		if out, err := (VCardCodec{Now: clock}).Encode(raw, d.Fields, d.UID, ""); err != nil || string(out) != string(raw) {
			t.Errorf("%s: written back as %q, %v", tc.line, out, err)
		}
	}
}

// TestVCardAddressNotTandems: an ADR with none of the parts Tandem maps (a
// PO box alone) is no address to it, and stays when Tandem's change.
func TestVCardAddressNotTandems(t *testing.T) {
	raw := obj("BEGIN:VCARD\nVERSION:3.0\nUID:a\nFN:A\nADR;TYPE=WORK:PO Box 7;;;;;;\nEND:VCARD\n")
	d, err := VCardCodec{}.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Fields[reconcile.FieldAddresses]; ok {
		t.Fatalf("a PO box alone read as %q", d.Fields[reconcile.FieldAddresses])
	}
	f := with(d.Fields, reconcile.FieldAddresses, "1 Main St|Springfield||||home|primary")
	out, err := VCardCodec{Now: clock}.Encode(raw, f, d.UID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "\r\nADR;TYPE=WORK:PO Box 7;;;;;;\r\n") {
		t.Errorf("the PO box went:\n%s", out)
	}
	d2, _ := VCardCodec{}.Decode(out)
	sameFields(t, "patched", d2.Fields, f)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestVCardCreate(t *testing.T) {
	c := VCardCodec{Now: clock}
	for _, f := range []reconcile.Fields{
		appleFields, nextcloudFields, thunderbirdFields,
		{reconcile.FieldName: "Only A Name"},
		{reconcile.FieldEmails: "x@example.com|work|primary"},
	} {
		out, err := c.Encode(nil, f, "new-uid-1", "marker-1")
		if err != nil {
			t.Fatal(err)
		}
		checkWellFormed(t, out)
		for _, want := range []string{"BEGIN:VCARD\r\nVERSION:3.0\r\n", "PRODID:" + ProdID, "UID:new-uid-1", "\r\nFN:", "\r\nN:",
			"X-TANDEM-MARKER:marker-1", "REV:20260301T090000Z"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("new card lacks %q:\n%s", want, out)
			}
		}
		d, err := c.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		if d.UID != "new-uid-1" || d.Marker != "marker-1" {
			t.Errorf("identity %q %q", d.UID, d.Marker)
		}
		sameFields(t, "created", d.Fields, f)
	}
	if _, err := c.Encode(nil, appleFields, "", ""); err == nil {
		t.Error("a new card without uid was written")
	}
}

func TestVCardAddsMissingUID(t *testing.T) {
	raw := obj("BEGIN:VCARD\nVERSION:3.0\nFN:Nobody\nEND:VCARD\n")
	out, err := VCardCodec{Now: clock}.Encode(raw, reconcile.Fields{reconcile.FieldName: "Somebody"}, "u-1", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := (VCardCodec{}).Decode(out); d.UID != "u-1" || d.Fields[reconcile.FieldName] != "Somebody" {
		t.Errorf("decoded %+v", d)
	}
}

func FuzzVCard(f *testing.F) {
	for _, raw := range [][]byte{appleCard, nextcloudCard, thunderbirdCard, rfc6350Card, card21} {
		f.Add(raw)
	}
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD\r\n"))
	png := testImage(f, "png", 9)
	f.Add(card("4.0", "PHOTO:data:image/png;base64,"+b64(png), "CATEGORIES:a\\,b,c", "CATEGORIES:A"))
	f.Add(card("3.0", "item1.PHOTO;ENCODING=b;TYPE=PNG:"+b64(png), "PHOTO:http://example.com/x.jpg", "CATEGORIES:,x"))
	f.Add(card("4.0", "PHOTO;VALUE=uri:https://example.com/p.jpg", "CATEGORIES;ENCODING=QUOTED-PRINTABLE:=D0=AF,b"))
	f.Add(card("4.0", `PHOTO:data:image/jpeg\;base64`, "CATEGORIES:x,,y"))
	fuzzCodec(f, VCardCodec{Now: clock},
		func(g reconcile.Fields) {
			cs := reconcile.DecodeCategories(g[reconcile.FieldCategories])
			if len(cs) > 0 {
				cs = cs[1:] // one removed
			}
			cs = append(cs, "Fuzz, category; \\ new", "Ёлка")
			g[reconcile.FieldCategories] = reconcile.EncodeCategories(cs)
		},
		func(g reconcile.Fields) { g[reconcile.FieldCategories] = "" },
		func(g reconcile.Fields) { g[reconcile.FieldPhoto] = reconcile.EncodePhoto("image/png", png) },
		func(g reconcile.Fields) { g[reconcile.FieldPhoto] = "" },
		func(g reconcile.Fields) { g[reconcile.FieldNotes] = fuzzText },
		func(g reconcile.Fields) {
			// As crm keeps a contact: the name derived when there is none.
			c := crm.Contact{}
			reconcile.ApplyContactFields(&c, g, reconcile.ContactFieldNames)
			c.GivenName = "Fuzz; given, name"
			c.Normalize()
			g[reconcile.FieldGivenName], g[reconcile.FieldName] = c.GivenName, c.Name
		},
		func(g reconcile.Fields) {
			es := reconcile.DecodeEmails(g[reconcile.FieldEmails])
			es = append(es, crm.Email{Address: "fuzz@example.com", Kind: "home"})
			if len(es) > 1 {
				es[0], es[len(es)-1] = es[len(es)-1], es[0]
			}
			// As crm keeps a list: its first entry primary when none is.
			c := crm.Contact{Name: "x", Emails: es}
			c.Normalize()
			g[reconcile.FieldEmails] = reconcile.EncodeEmails(c.Emails)
		},
		func(g reconcile.Fields) {
			g[reconcile.FieldCompany] = fuzzText
			g[reconcile.FieldBirthday] = "--02-29"
			as := reconcile.DecodeAddresses(g[reconcile.FieldAddresses])
			as = append(as, crm.Address{Street: fuzzText, City: "Fuzz; city", Kind: "home"})
			if len(as) > 1 {
				as[0], as[len(as)-1] = as[len(as)-1], as[0]
			}
			c := crm.Contact{Name: "x", Addresses: as}
			c.Normalize()
			g[reconcile.FieldAddresses] = reconcile.EncodeAddresses(c.Addresses)
		},
		func(g reconcile.Fields) {
			ps := reconcile.DecodePhones(g[reconcile.FieldPhones])
			for i := range ps {
				ps[i].Primary = i == len(ps)-1
				ps[i].Kind = []string{"mobile", "work", "home", "other"}[i%4]
			}
			g[reconcile.FieldPhones] = reconcile.EncodePhones(ps)
		})
}

func setOrDelete(f reconcile.Fields, k, v string) {
	if v == "" {
		delete(f, k)
		return
	}
	f[k] = v
}

// slowObject is more than any object may take to decode and patch.
const slowObject = 2 * time.Second

const fuzzText = "Fuzz ✓, changed; value \\ here\nline two"

// fuzzCodec checks a codec against arbitrary input: Decode never panics;
// what it reads Encode writes back unchanged, and after each change the
// object reads back as written.
func fuzzCodec(f *testing.F, c Codec, changes ...func(reconcile.Fields)) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		start := time.Now()
		defer func() {
			if el := time.Since(start); el > slowObject {
				t.Fatalf("%v for one object", el)
			}
		}()
		d, err := c.Decode(raw)
		if err != nil {
			return
		}
		out, err := c.Encode(raw, d.Fields, d.UID, d.Marker)
		if err != nil {
			t.Fatalf("encode of what decoded: %v", err)
		}
		if string(out) != string(raw) {
			t.Fatalf("unchanged fields changed the object:\n%q\n%q", raw, out)
		}
		for i, change := range changes {
			g := d.Fields.Clone()
			change(g)
			for k, v := range g {
				if v == "" {
					delete(g, k)
				}
			}
			out, err = c.Encode(raw, g, d.UID, d.Marker)
			if err != nil {
				t.Fatalf("change %d: encode: %v", i, err)
			}
			d2, err := c.Decode(out)
			if err != nil {
				t.Fatalf("change %d: decode of the patched object: %v\n%q", i, err, out)
			}
			for _, k := range d.NotCarried {
				// Left as it was, whatever it was sent; or, a photo a
				// server cut off, written over.
				if k == reconcile.FieldPhoto && d2.Fields[k] != "" && d2.Fields[k] == g[k] {
					continue
				}
				if !slices.Contains(d2.NotCarried, k) || d2.Fields[k] != "" {
					t.Fatalf("change %d: %s not carried before, now %q", i, k, d2.Fields[k])
				}
				setOrDelete(g, k, d.Fields[k])
			}
			if !d2.Fields.Equal(g) {
				for _, k := range unionKeys(d2.Fields, g) {
					if d2.Fields[k] != g[k] {
						t.Errorf("change %d: field %s = %q, want %q", i, k, d2.Fields[k], g[k])
					}
				}
				t.Fatalf("patched object:\n%q", out)
			}
			if d2.UID != d.UID {
				t.Fatalf("uid %q became %q", d.UID, d2.UID)
			}
		}
	})
}
