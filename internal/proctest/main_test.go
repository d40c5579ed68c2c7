package proctest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	Register("echo-args", func() int {
		for _, a := range Args() {
			fmt.Println(a)
		}
		return 0
	})
	Register("exit", func() int {
		code, _ := strconv.Atoi(Args()[0])
		fmt.Fprintf(os.Stderr, "exiting with %d on purpose\n", code)
		return code
	})
	Register("hang", func() int {
		fmt.Println("ready")
		return hangForever()
	})
	Register("shout", func() int {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == "bye" {
				return 0
			}
			fmt.Println(strings.ToUpper(sc.Text()))
		}
		return 1
	})
	Register("no-newline", func() int {
		fmt.Print("first\nsecond")
		return 0
	})
	registerPlatformRoles()
	Main(m)
}

// hangForever blocks until the process is killed. Not `select {}`: with no
// other goroutine the runtime would call that a deadlock and exit.
func hangForever() int {
	for {
		time.Sleep(time.Hour)
	}
}
