// Package dialog is the slot-filling engine behind every multi-step flow: one question
// at a time, each answer validated and re-asked with a clear message, and at every step
// やめる/キャンセル/cancel, 戻る/back and ヘルプ/help. A summary with 登録/修正/やめる comes
// before anything is saved. The package is pure: state goes in, state and replies come
// out; the caller stores the state (with a version for compare-and-set) and saves the result.
package dialog
