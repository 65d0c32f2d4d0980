package scanlog_test

import (
	"fmt"
	"time"

	"github.com/org/ecr-action/internal/scanlog"
)

func ExampleMessage() {
	msg, err := scanlog.Message(scanlog.Event{
		Repository: "team/web",
		Registry:   "123456789012.dkr.ecr.us-east-1.amazonaws.com",
		Digest:     "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Tags:       []string{"v1.4.2", "latest"},
		ScanMode:   "BASIC",
		Status:     "COMPLETE",
		Gate:       "failed",
		Reason:     "1 CRITICAL finding is at or above the HIGH threshold.",
		Threshold:  "HIGH",
		Counts:     map[string]int{"CRITICAL": 1, "HIGH": 0, "MEDIUM": 3, "LOW": 7, "INFORMATIONAL": 0, "UNDEFINED": 0},
		Blocking:   1,
		Ignored:    2,
		Commit:     "0123456789abcdef0123456789abcdef01234567",
		Ref:        "refs/heads/main",
		RunURL:     "https://github.com/org/app/actions/runs/42",
		Time:       time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(msg)
	// Output:
	// {"schema_version":1,"time":"2025-03-01T12:00:00.000Z","repository":"team/web","registry":"123456789012.dkr.ecr.us-east-1.amazonaws.com","digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","tags":["v1.4.2","latest"],"scan_mode":"BASIC","status":"COMPLETE","gate":"failed","reason":"1 CRITICAL finding is at or above the HIGH threshold.","threshold":"HIGH","counts":{"CRITICAL":1,"HIGH":0,"INFORMATIONAL":0,"LOW":7,"MEDIUM":3,"UNDEFINED":0},"total":11,"blocking":1,"ignored":2,"commit":"0123456789abcdef0123456789abcdef01234567","ref":"refs/heads/main","run_url":"https://github.com/org/app/actions/runs/42"}
}
