package lineworks

// SplitText exposes the text splitter to the external tests and fuzz targets.
var SplitText = splitText
