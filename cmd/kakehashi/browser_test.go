package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kakehashi/kakehashi/handlers/web"
)

// chromium finds a Chromium to drive: KAKEHASHI_CHROMIUM, Debian's /usr/bin/chromium, or
// one on the PATH.
func chromium() string {
	if p := os.Getenv("KAKEHASHI_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// waitText waits until the chat log shows s.
func waitText(s string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Poll[bool](`document.getElementById('log').innerText.includes(`+strconv.Quote(s)+`)`,
		chromedp.WithPollingTimeout(20*time.Second)))
}

func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// TestBrowser drives the real page in headless Chromium: join with DEMO-STAFF, see the
// menu the page asks for, press a menu button and read the answer, then type a message.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	path := chromium()
	if path == "" {
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	ta := newTestApp(t)

	// Chromium's helpers may still write to their profile for a moment after it exits,
	// which t.TempDir's cleanup would report as an error; remove it with retries.
	profile, err := os.MkdirTemp("", "kakehashi-chromium")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(390, 844), // a phone
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	// The first call starts the browser and must not carry a timeout; the steps do.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	fail := func(step string, err error) {
		t.Helper()
		page, _ := chromedp.Run(browser, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v\npage:\n%s", step, err, page)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(ta.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), "DEMO-STAFF"),
		chromedp.SendKeys(chromedp.ID("name"), "ブラウザ 太郎"),
		chromedp.Click(chromedp.ID("joinbtn")),
		chromedp.WaitVisible(chromedp.ID("chat")),
		// After joining the page asks for the menu by itself.
		waitText("メニュー（デモ市 / 職員）"),
	)
	if err != nil {
		fail("join", err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
	if err != nil {
		fail("header", err)
	}
	if who != "demo / staff" {
		t.Errorf("header shows %q", who)
	}
	// Press a menu button and see the bot's answer, then type a message.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.Search(`//div[@id="log"]//button[text()="自分の登録状況"]`)),
		waitText("登録状況です。"),
		waitText("ブラウザ 太郎"),
		chromedp.SendKeys(chromedp.ID("text"), "ヘルプ"),
		chromedp.Click(chromedp.ID("send")),
		void(chromedp.Poll[bool](`document.querySelectorAll('#log .msg.bot').length >= 3`, chromedp.WithPollingTimeout(20*time.Second))),
	)
	if err != nil {
		fail("menu round trip", err)
	}
	// The session cookie is HttpOnly: the page's script cannot read it.
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		fail("cookies", err)
	}
	if strings.Contains(cookies, web.CookieName) {
		t.Errorf("the session cookie is readable from script: %q", cookies)
	}
	if dir := os.Getenv("KAKEHASHI_SCREENSHOT_DIR"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			fail("screenshot", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "browser.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
}
