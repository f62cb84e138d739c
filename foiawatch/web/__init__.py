"""Reading what web servers answer, shared by the crawler and the Wayback code: URLs in canonical form, listing pages
parsed into documents and sections, block and not-found pages told apart, content types sniffed, requests paced."""
