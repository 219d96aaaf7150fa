package chat_test

import (
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
