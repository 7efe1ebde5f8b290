"""Probes: nmap sweeps, greetings, TLS handshakes and banners seen from the vantage point."""
