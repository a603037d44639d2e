// Package bot is Kakehashi's domain: the vocabulary of municipal DX work and the
// ports (interfaces) the rest of the program implements. It does no I/O and imports
// no chat SDK, so every channel and every store speaks the same language.
//
// Glossary (用語):
//
//	テナント (Tenant)      one municipality (自治体), e.g. デモ市
//	職員 (staff)          a municipal employee who files needs
//	DX推進担当 (dx_lead)   the DX / 情報政策 team that triages needs
//	アドバイザー (adviser)  an external adviser working a side job (副業)
//	首長 (mayor)          mayor, deputy mayor or CIO who reads the weekly digest
//	管理者 (admin)         the tenant's operator
//	候補者 (candidate)     registered outside talent in the operator-wide pool
//	ニーズ (Need)          a DX need or consultation filed by staff
//	面談 (Meeting)         a meeting between staff and an adviser
//	招待コード (Invite)    a code that makes a person a member with a role
//	ダイジェスト (Digest)   the weekly summary for the mayor
package bot
