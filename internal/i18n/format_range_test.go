package i18n

import (
	"testing"
	"time"
)

func TestFormatDateRange(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		first, last time.Time
		en, ru      string
	}{
		{"one day", day(2026, 11, 29), day(2026, 11, 29), "Nov 29, 2026", "29 нояб. 2026 г."},
		{"same month", day(2026, 12, 1), day(2026, 12, 7), "Dec 1 – 7, 2026", "1–7 дек. 2026 г."},
		{"two months", day(2026, 11, 29), day(2026, 12, 5), "Nov 29 – Dec 5, 2026", "29 нояб. – 5 дек. 2026 г."},
		{"two years", day(2026, 12, 29), day(2027, 1, 4), "Dec 29, 2026 – Jan 4, 2027", "29 дек. 2026 г. – 4 янв. 2027 г."},
		{"same month in May", day(2027, 5, 3), day(2027, 5, 9), "May 3 – 9, 2027", "3–9 мая 2027 г."},
		{"a whole month's grid", day(2027, 2, 28), day(2027, 4, 3), "Feb 28 – Apr 3, 2027", "28 февр. – 3 апр. 2027 г."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := En.FormatDateRange(tt.first, tt.last); got != tt.en {
				t.Errorf("en: %q, want %q", got, tt.en)
			}
			if got := Ru.FormatDateRange(tt.first, tt.last); got != tt.ru {
				t.Errorf("ru: %q, want %q", got, tt.ru)
			}
		})
	}
}

func TestFormatDateFull(t *testing.T) {
	d := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	if got, want := En.FormatDateFull(d), "Monday, November 30, 2026"; got != want {
		t.Errorf("en: %q, want %q", got, want)
	}
	if got, want := Ru.FormatDateFull(d), "Понедельник, 30 ноября 2026 г."; got != want {
		t.Errorf("ru: %q, want %q", got, want)
	}
}

func TestFormatDayMonth(t *testing.T) {
	for _, tt := range []struct {
		l    Lang
		m    time.Month
		d    int
		want string
	}{{En, time.April, 12, "April 12"}, {Ru, time.April, 12, "12 апреля"}, {Ru, time.February, 29, "29 февраля"}, {En, 13, 1, ""}} {
		if got := tt.l.FormatDayMonth(tt.m, tt.d); got != tt.want {
			t.Errorf("%s %d %d: %q, want %q", tt.l, tt.m, tt.d, got, tt.want)
		}
	}
}
