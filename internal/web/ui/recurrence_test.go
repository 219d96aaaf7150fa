package ui

import (
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/i18n"
)

func TestDescribeRecurrence(t *testing.T) {
	moscow, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule   string
		en, ru string // "" means not describable: shown as the rule
	}{
		{"FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6", "Weekly on Mon, Wed, Fri, 6 times", "Еженедельно по пн, ср, пт, 6 раз"},
		{"RRULE:FREQ=DAILY", "Daily", "Ежедневно"},
		{"FREQ=DAILY;INTERVAL=2", "Every 2 days", "Каждые 2 дня"},
		{"FREQ=DAILY;INTERVAL=21;COUNT=1", "Every 21 days, 1 time", "Каждый 21 день, 1 раз"},
		{"FREQ=DAILY;INTERVAL=5;COUNT=3", "Every 5 days, 3 times", "Каждые 5 дней, 3 раза"},
		{"FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "Every 2 weeks on Tue", "Каждые 2 недели по вт"},
		{"FREQ=WEEKLY;INTERVAL=5", "Every 5 weeks", "Каждые 5 недель"},
		{"FREQ=WEEKLY;BYDAY=SA,SU;WKST=MO", "Weekly on Sat, Sun", "Еженедельно по сб, вс"},
		{"FREQ=MONTHLY", "Monthly", "Ежемесячно"},
		{"FREQ=MONTHLY;INTERVAL=3", "Every 3 months", "Каждые 3 месяца"},
		{"FREQ=MONTHLY;BYDAY=1MO", "Monthly on the first Monday", "Ежемесячно в первый понедельник"},
		{"FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Friday", "Ежемесячно в последнюю пятницу"},
		{"FREQ=MONTHLY;BYDAY=+2WE;COUNT=12", "Monthly on the second Wednesday, 12 times", "Ежемесячно во вторую среду, 12 раз"},
		{"FREQ=MONTHLY;BYDAY=3SU", "Monthly on the third Sunday", "Ежемесячно в третье воскресенье"},
		{"FREQ=MONTHLY;BYMONTHDAY=15", "Monthly on day 15", "Ежемесячно 15-го числа"},
		{"FREQ=MONTHLY;BYMONTHDAY=1,15", "Monthly on days 1, 15", "Ежемесячно 1-го, 15-го числа"},
		{"FREQ=MONTHLY;BYMONTHDAY=-1", "Monthly on the last day", "Ежемесячно в последний день месяца"},
		{"FREQ=YEARLY", "Yearly", "Ежегодно"},
		{"FREQ=YEARLY;INTERVAL=5", "Every 5 years", "Каждые 5 лет"},
		// UNTIL is a date in the rule's zone: 20:59:59Z is the last second
		// of 31 December in Moscow.
		{"FREQ=WEEKLY;UNTIL=20261231T205959Z", "Weekly, until Dec 31, 2026", "Еженедельно, до 31 дек. 2026 г."},
		{"FREQ=DAILY;UNTIL=20270105", "Daily, until Jan 5, 2027", "Ежедневно, до 5 янв. 2027 г."},
		// Not describable: the rule itself is clearer than a guess.
		{"FREQ=HOURLY", "", ""},
		{"FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8", "", ""},
		{"FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1", "", ""},
		{"FREQ=MONTHLY;BYDAY=6MO", "", ""},
		{"FREQ=MONTHLY;BYDAY=-2FR", "", ""},
		{"FREQ=WEEKLY;BYDAY=1MO", "", ""},
		{"FREQ=MONTHLY;BYDAY=MO,1FR", "", ""},
		{"FREQ=MONTHLY;BYMONTHDAY=-2", "", ""},
		{"FREQ=WEEKLY;BYMONTHDAY=3", "", ""},
		{"FREQ=WEEKLY;COUNT=2;COUNT=3", "", ""},
		{"FREQ=SOMETIMES", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			l    i18n.Lang
			want string
		}{{i18n.En, tt.en}, {i18n.Ru, tt.ru}} {
			got, ok := describeRecurrence(c.l, tt.rule, moscow)
			if ok != (c.want != "") || got != c.want {
				t.Errorf("%s %q: %q %v, want %q", c.l, tt.rule, got, ok, c.want)
			}
		}
	}
}
