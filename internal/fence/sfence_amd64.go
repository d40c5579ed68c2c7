package fence

// storeFence is an SFENCE (sfence_amd64.s): every store before it,
// non-temporal ones included, is globally visible before any store after
// it (Intel SDM vol. 2B, SFENCE; AMD APM vol. 2 §7.4.2).
func storeFence()
