"""The gallery (`kavi web`): the archive as a website, a feed, a JSON API and a static export."""
