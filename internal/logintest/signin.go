package logintest

import "github.com/chromedp/chromedp"

// SubmitPassword waits for the login page's form, fills in username and
// password and submits it.
func SubmitPassword(username, password string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.WaitVisible("#username", chromedp.ByID),
		chromedp.SendKeys("#username", username, chromedp.ByID),
		chromedp.SendKeys("#password", password, chromedp.ByID),
		chromedp.Submit("#password", chromedp.ByID),
	}
}

// StartFaceSignIn opens url (a page that leads to the login page), signs
// in with username and password and presses Start on the face page.
func StartFaceSignIn(url, username, password string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(url),
		SubmitPassword(username, password),
		chromedp.WaitEnabled("#face-start", chromedp.ByID),
		chromedp.Click("#face-start", chromedp.ByID),
	}
}
