package download

import "testing"

func TestDisposition(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		"Отчёт 2024.xlsx": `attachment; filename="_____ 2024.xlsx"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%202024.xlsx`,
		`a"b\c/d.txt`:     `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%5Cc%2Fd.txt`,
		"evil\r\nX-H: 1":  `attachment; filename="evilX-H: 1"; filename*=UTF-8''evilX-H%3A%201`,
		"":                `attachment; filename="attachment"; filename*=UTF-8''attachment`,
	} {
		if got := Disposition(in); got != want {
			t.Errorf("Disposition(%q) =\n %s\nwant\n %s", in, got, want)
		}
	}
}
