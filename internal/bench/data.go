package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
)

// The data set is a deterministic function of the seed and the contact's
// index, so every run (on either database, with any number of writers)
// stores the same contacts, whatever order the writers insert them in.
const seed = 0x74616e64656d // "tandem"

// name is a name as written and as it appears in an email address.
type name struct{ text, ascii string }

var (
	latinGiven = []name{
		{"James", "james"}, {"Mary", "mary"}, {"John", "john"}, {"Patricia", "patricia"},
		{"Robert", "robert"}, {"Jennifer", "jennifer"}, {"Michael", "michael"}, {"Linda", "linda"},
		{"William", "william"}, {"Elizabeth", "elizabeth"}, {"David", "david"}, {"Susan", "susan"},
		{"Thomas", "thomas"}, {"Sarah", "sarah"}, {"Daniel", "daniel"}, {"Emma", "emma"},
		{"Lucas", "lucas"}, {"Sophie", "sophie"}, {"Hans", "hans"}, {"Giulia", "giulia"},
		{"Pierre", "pierre"}, {"Claire", "claire"}, {"José", "jose"}, {"Zoë", "zoe"},
	}
	latinFamily = []name{
		{"Smith", "smith"}, {"Johnson", "johnson"}, {"Williams", "williams"}, {"Brown", "brown"},
		{"Jones", "jones"}, {"Garcia", "garcia"}, {"Miller", "miller"}, {"Davis", "davis"},
		{"Martinez", "martinez"}, {"Wilson", "wilson"}, {"Anderson", "anderson"}, {"Taylor", "taylor"},
		{"Moore", "moore"}, {"Jackson", "jackson"}, {"Lee", "lee"}, {"Thompson", "thompson"},
		{"Müller", "mueller"}, {"Schmidt", "schmidt"}, {"Rossi", "rossi"}, {"Dubois", "dubois"},
		{"Novak", "novak"}, {"Kowalski", "kowalski"}, {"O'Brien", "obrien"}, {"Walsh", "walsh"},
	}
	latinTitles = []string{
		"Sales Manager", "Account Executive", "CEO", "CTO", "Software Engineer", "Office Manager",
		"Marketing Director", "Accountant", "Project Manager", "Procurement Specialist", "HR Manager",
		"Legal Counsel", "Head of Operations", "Customer Success Manager", "",
	}
	latinWorkDomains = []string{"acme.com", "globex.com", "initech.com", "umbrella.co", "contoso.com",
		"northwind.com", "fabrikam.com", "example.org"}
	latinHomeDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "proton.me"}

	// Russian names: male and female forms side by side.
	cyrGivenMale = []name{
		{"Иван", "ivan"}, {"Алексей", "aleksey"}, {"Дмитрий", "dmitry"}, {"Сергей", "sergey"},
		{"Андрей", "andrey"}, {"Михаил", "mikhail"}, {"Николай", "nikolay"}, {"Павел", "pavel"},
		{"Артём", "artyom"}, {"Олег", "oleg"}, {"Владимир", "vladimir"}, {"Евгений", "evgeny"},
	}
	cyrGivenFemale = []name{
		{"Анна", "anna"}, {"Мария", "maria"}, {"Елена", "elena"}, {"Ольга", "olga"},
		{"Наталья", "natalya"}, {"Татьяна", "tatyana"}, {"Ирина", "irina"}, {"Светлана", "svetlana"},
		{"Юлия", "yulia"}, {"Алёна", "alyona"}, {"Екатерина", "ekaterina"}, {"Дарья", "darya"},
	}
	// Family names by their male form; the female form adds "а".
	cyrFamily = []name{
		{"Иванов", "ivanov"}, {"Петров", "petrov"}, {"Смирнов", "smirnov"}, {"Кузнецов", "kuznetsov"},
		{"Попов", "popov"}, {"Соколов", "sokolov"}, {"Лебедев", "lebedev"}, {"Козлов", "kozlov"},
		{"Новиков", "novikov"}, {"Морозов", "morozov"}, {"Волков", "volkov"}, {"Фёдоров", "fyodorov"},
		{"Михайлов", "mikhaylov"}, {"Белов", "belov"}, {"Орлов", "orlov"}, {"Соловьёв", "solovyov"},
	}
	// Patronymics: male, female.
	cyrPatronymic = [][2]string{
		{"Иванович", "Ивановна"}, {"Петрович", "Петровна"}, {"Сергеевич", "Сергеевна"},
		{"Александрович", "Александровна"}, {"Дмитриевич", "Дмитриевна"}, {"Николаевич", "Николаевна"},
		{"Андреевич", "Андреевна"}, {"Владимирович", "Владимировна"},
	}
	cyrTitles = []string{
		"Менеджер по продажам", "Генеральный директор", "Главный бухгалтер", "Инженер",
		"Руководитель проекта", "Юрист", "Специалист по закупкам", "Финансовый директор",
		"Офис-менеджер", "Программист", "Коммерческий директор", "",
	}
	cyrWorkDomains = []string{"romashka.ru", "lutik.ru", "tehnoprom.ru", "stroymontazh.ru", "uralsnab.ru",
		"sibles.ru"}
	cyrHomeDomains = []string{"yandex.ru", "mail.ru", "gmail.com", "bk.ru"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// contactRand is the random source of contact i.
func contactRand(i int) *rand.Rand { return rand.New(rand.NewPCG(seed, uint64(i))) }

// makeContact returns contact i of the data set: half Latin, half Cyrillic
// names, one or two emails, one phone, usually a job title.
func makeContact(i int) *crm.Contact {
	r := contactRand(i)
	c := &crm.Contact{Type: pick(r, crm.ContactTypes)}
	var given, family name
	var workDomains, homeDomains []string
	if r.IntN(2) == 0 {
		given, family = pick(r, latinGiven), pick(r, latinFamily)
		c.GivenName, c.FamilyName = given.text, family.text
		c.JobTitle = pick(r, latinTitles)
		workDomains, homeDomains = latinWorkDomains, latinHomeDomains
		c.Phones = []crm.Phone{{Number: fmt.Sprintf("+1 (%03d) %03d-%04d", 200+r.IntN(800), r.IntN(1000), r.IntN(10000)), Kind: "work"}}
	} else {
		female := r.IntN(2) == 0
		family = pick(r, cyrFamily)
		p := pick(r, cyrPatronymic)
		if female {
			given = pick(r, cyrGivenFemale)
			family = name{family.text + "а", family.ascii + "a"}
			c.MiddleName = p[1]
		} else {
			given = pick(r, cyrGivenMale)
			c.MiddleName = p[0]
		}
		if r.IntN(10) < 3 {
			c.MiddleName = ""
		}
		c.GivenName, c.FamilyName = given.text, family.text
		c.JobTitle = pick(r, cyrTitles)
		workDomains, homeDomains = cyrWorkDomains, cyrHomeDomains
		c.Phones = []crm.Phone{{Number: fmt.Sprintf("+7 9%02d %03d-%02d-%02d", r.IntN(100), r.IntN(1000), r.IntN(100), r.IntN(100)), Kind: "mobile"}}
	}
	c.Emails = []crm.Email{{Address: given.ascii + "." + family.ascii + "@" + pick(r, workDomains), Kind: "work"}}
	if r.IntN(2) == 0 {
		c.Emails = append(c.Emails, crm.Email{
			Address: fmt.Sprintf("%s%s%04d@%s", given.ascii, family.ascii, r.IntN(10000), pick(r, homeDomains)),
			Kind:    "home",
		})
	}
	return c
}

// Search term kinds, reported separately because they stress the query in
// different ways: a common term fills the first page from the first rows in
// name order; a rare or absent one has to look at every row.
const (
	kindCommon   = "common"
	kindCyrillic = "cyrillic"
	kindRare     = "rare"
	kindNone     = "no match"
)

var searchKinds = []string{kindCommon, kindCyrillic, kindRare, kindNone}

var (
	commonTerms   = []string{"an", "son", "manager", "smith", "john", "gmail", "er", "ia", "mar", "com"}
	cyrillicTerms = []string{"иван", "петров", "ова", "менеджер", "алексей", "фёдоров", "директор", "ольга",
		"наталья", "ич", "инженер", "соловьев"}
)

type searchTerm struct{ kind, q string }

// searchTerms returns n terms cycling through the kinds. Rare terms come
// from contacts of the data set (of n contacts): the digits of a phone
// number or a personal email address, each held by one or a few contacts.
func searchTerms(n, contacts int) []searchTerm {
	r := rand.New(rand.NewPCG(seed, 1<<62))
	out := make([]searchTerm, 0, n)
	for i := 0; i < n; i++ {
		kind := searchKinds[i%len(searchKinds)]
		var q string
		switch kind {
		case kindCommon:
			q = commonTerms[(i/len(searchKinds))%len(commonTerms)]
		case kindCyrillic:
			q = cyrillicTerms[(i/len(searchKinds))%len(cyrillicTerms)]
		case kindRare:
			c := makeContact(r.IntN(max(contacts, 1)))
			if len(c.Emails) > 1 && r.IntN(2) == 0 {
				q = c.Emails[1].Address
			} else {
				d := digits(c.Phones[0].Number)
				q = d[len(d)-7:]
			}
		case kindNone:
			// No generated field holds a "q" next to a "z".
			const letters = "bcdfghjklmnpstvw"
			var b strings.Builder
			b.WriteString("qz")
			for range 4 {
				b.WriteByte(letters[r.IntN(len(letters))])
			}
			q = b.String()
		}
		out = append(out, searchTerm{kind, q})
	}
	return out
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}
